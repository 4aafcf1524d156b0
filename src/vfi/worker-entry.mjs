// Worker entry: registers tsx in this thread (kiln runs TypeScript without a build step; a
// worker does not inherit the parent's loader when the parent registered it through the API)
// and starts the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
