// Deployment profiles as data: where a model will run and how its session is set up there.
// `kiln bench --profile NAME` measures under one; `kiln pipeline --profile NAME` builds towards
// one (the precision says which quantization stage applies). Adding a target is adding an entry.
import { UsageError } from '../errors.js';
import { providerUnavailable, type OptLevel, type Provider } from './session.js';

export type Precision = 'fp32' | 'fp16' | 'int8';

export interface DeploymentProfile {
  name: string;
  description: string;
  /** The onnxruntime package that runs it: onnxruntime-node here, onnxruntime-web in a browser. */
  runtime: 'onnxruntime-node' | 'onnxruntime-web';
  provider: Provider | 'wasm';
  precision: Precision;
  /** Intra-op threads; 0 = onnxruntime's default (one per physical core). */
  threads: number;
  /** Image size fed to dynamic H/W dims of rank-4 (NCHW) inputs. */
  input: { width: number; height: number };
  batch: number;
  session: {
    optLevel: OptLevel;
    memArena: boolean;
    memPattern: boolean;
    /** Extra onnxruntime session config entries. */
    config: Record<string, string>;
  };
}

export const PROFILES: readonly DeploymentProfile[] = [
  {
    name: 'server-cpu',
    description: 'x86 server, throughput first: INT8, all physical cores, batched 720p',
    runtime: 'onnxruntime-node',
    provider: 'cpu',
    precision: 'int8',
    threads: 0,
    input: { width: 1280, height: 720 },
    batch: 4,
    session: { optLevel: 'all', memArena: true, memPattern: true, config: { 'session.intra_op.allow_spinning': '1' } },
  },
  {
    name: 'server-gpu',
    description: 'NVIDIA GPU server: CUDA, FP16, batched 1080p',
    runtime: 'onnxruntime-node',
    provider: 'cuda',
    precision: 'fp16',
    threads: 1,
    input: { width: 1920, height: 1080 },
    batch: 8,
    session: { optLevel: 'all', memArena: true, memPattern: true, config: {} },
  },
  {
    name: 'edge',
    description: 'small ARM/x86 box next to a camera: 640×480, batch 1, FP16, 4 threads, no spin-waiting',
    runtime: 'onnxruntime-node',
    provider: 'cpu',
    precision: 'fp16',
    threads: 4,
    input: { width: 640, height: 480 },
    batch: 1,
    // Spinning threads burn power and steal the cores a camera pipeline needs.
    session: { optLevel: 'all', memArena: true, memPattern: true, config: { 'session.intra_op.allow_spinning': '0' } },
  },
  {
    name: 'browser-wasm',
    description: 'onnxruntime-web WebAssembly in a browser tab: 640×480, batch 1, INT8, 1 thread (threads need cross-origin isolation)',
    runtime: 'onnxruntime-web',
    provider: 'wasm',
    precision: 'int8',
    threads: 1,
    input: { width: 640, height: 480 },
    batch: 1,
    session: { optLevel: 'all', memArena: true, memPattern: true, config: {} },
  },
];

export function getProfile(name: string): DeploymentProfile {
  const p = PROFILES.find((x) => x.name === name);
  if (!p) throw new UsageError(`unknown profile '${name}'; known profiles: ${PROFILES.map((x) => x.name).join(', ')}`);
  return p;
}

/** Why this profile cannot be measured in this process, or null. Names what is missing. */
export function profileUnavailable(p: DeploymentProfile): string | null {
  if (p.runtime !== 'onnxruntime-node' || p.provider === 'wasm') {
    return `profile '${p.name}' targets ${p.runtime}'s '${p.provider}' backend, which runs in a browser; onnxruntime-node has no '${p.provider}' execution provider, so kiln cannot measure it from the command line`;
  }
  const why = providerUnavailable(p.provider);
  return why ? `profile '${p.name}' needs the '${p.provider}' provider: ${why}` : null;
}
