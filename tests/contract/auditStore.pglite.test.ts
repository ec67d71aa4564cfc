import { AuditStore } from '../../src/audit/AuditStore.js';
import { pgliteClient } from '../../src/audit/sqlClient.js';
import { freshPgliteDataDir } from '../helpers/postgresServer.js';
import { auditStoreContract } from './auditStore.contract.js';

auditStoreContract('pglite', async () => {
  const data = await freshPgliteDataDir();
  const store = new AuditStore(await pgliteClient(data.dir), { name: 'pglite' });
  return {
    store,
    async cleanup() {
      await store.close();
      await store.close();
      await data.remove();
    },
  };
});
