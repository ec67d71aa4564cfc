// The floor: a node:http server that does nothing and a `ws` server that echoes, on one port,
// in a process of its own like a server instance. Started by the benchmark; tells it the port over IPC.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
  res.end('{}');
});
// Same settings as the service's WebSocket server: no compression.
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data: Buffer, isBinary) => {
    // {"type":"BROADCAST",version,bytes,request_id}: one frame of that size, built once, to every
    // other client (the floor of the fan-out row); anything else is echoed (the round-trip floor).
    const text = isBinary ? '' : data.toString('utf8');
    if (text.startsWith('{"type":"BROADCAST"')) {
      const { version, bytes, request_id } = JSON.parse(text) as {
        version: number;
        bytes: number;
        request_id: string;
      };
      const head = `{"type":"STATE","state":{"version":${version},"pad":"`;
      const frame = `${head}${'x'.repeat(Math.max(0, bytes - head.length - 3))}"}}`;
      for (const client of wss.clients) if (client !== ws) client.send(frame);
      ws.send(JSON.stringify({ type: 'ACK', request_id, state: { version } }));
      return;
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

function shutdown(): void {
  for (const ws of wss.clients) ws.terminate();
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('disconnect', shutdown);
