// The WebSocket protocol's client messages, checked with the same field rules as REST. The
// messages' types are the SDK's (@synckairos/client/wire); these schemas are checked against them.
import type { ClientMessage as WireClientMessage } from '@synckairos/client/wire';
import { z } from 'zod';
import { COMMAND_BODY_SCHEMAS } from '../schemas/commands.js';
import { MAX_DURATION_MS, idSchema } from '../schemas/requests.js';

export const MAX_REQUEST_ID_LENGTH = 128;

const routing = {
  request_id: z
    .string()
    .max(MAX_REQUEST_ID_LENGTH, `must be at most ${MAX_REQUEST_ID_LENGTH} characters`)
    .optional(),
  /** Defaults to the connection's session (from the URL, or its only subscription). */
  session_id: idSchema.optional(),
};

export const clientMessageSchemas = {
  SUBSCRIBE: z.strictObject({
    type: z.literal('SUBSCRIBE'),
    request_id: routing.request_id,
    session_id: idSchema,
  }),
  UNSUBSCRIBE: z.strictObject({
    type: z.literal('UNSUBSCRIBE'),
    request_id: routing.request_id,
    session_id: idSchema,
  }),
  PING: z.strictObject({
    type: z.literal('PING'),
    client_time: z.number().refine(Number.isFinite, 'must be a finite number'),
  }),
  START: COMMAND_BODY_SCHEMAS.START.safeExtend({ type: z.literal('START'), ...routing }),
  SWITCH: COMMAND_BODY_SCHEMAS.SWITCH.safeExtend({
    type: z.literal('SWITCH'),
    ...routing,
    think_ms: z
      .number()
      .int('must be an integer number of milliseconds')
      .min(0, 'must not be negative')
      .max(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS} ms (30 days)`)
      .optional()
      .describe(
        "lag_compensation sessions: the mover's own think time for this move; the rest of the elapsed time counts as transit, never more than the measured round trip plus 20 ms",
      ),
  }),
  PAUSE: COMMAND_BODY_SCHEMAS.PAUSE.safeExtend({ type: z.literal('PAUSE'), ...routing }),
  RESUME: COMMAND_BODY_SCHEMAS.RESUME.safeExtend({ type: z.literal('RESUME'), ...routing }),
  COMPLETE: COMMAND_BODY_SCHEMAS.COMPLETE.safeExtend({ type: z.literal('COMPLETE'), ...routing }),
  ADJUST: COMMAND_BODY_SCHEMAS.ADJUST.safeExtend({ type: z.literal('ADJUST'), ...routing }),
  RESET: COMMAND_BODY_SCHEMAS.RESET.safeExtend({ type: z.literal('RESET'), ...routing }),
} as const;

export type ClientMessageType = keyof typeof clientMessageSchemas;
export type ClientMessage<T extends ClientMessageType = ClientMessageType> = z.output<
  (typeof clientMessageSchemas)[T]
>;

/** Compile-time: every message the schemas accept is one the protocol's types describe. */
type Assignable<T extends U, U> = T;
export type _SchemasMatchTheProtocol = Assignable<ClientMessage, WireClientMessage>;

export function isClientMessageType(type: unknown): type is ClientMessageType {
  return typeof type === 'string' && Object.hasOwn(clientMessageSchemas, type);
}
