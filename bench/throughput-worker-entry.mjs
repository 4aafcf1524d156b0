// Worker entry for bench/throughput-worker.ts: a worker does not inherit the parent's tsx loader.
import { register } from 'tsx/esm/api';

register();
await import('./throughput-worker.ts');
