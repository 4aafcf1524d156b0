// The one place that creates onnxruntime sessions. Everything that runs a model (optimizer
// verification, quantizer calibration, benchmarks, the video pipeline) comes through here, so
// provider selection, thread counts and error messages are the same everywhere.
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { KilnError, UsageError } from '../errors.js';

export type Provider = 'cpu' | 'cuda' | 'tensorrt' | 'webgpu';
export const PROVIDERS: readonly Provider[] = ['cpu', 'cuda', 'tensorrt', 'webgpu'];
export type OptLevel = 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
export const OPT_LEVELS: readonly OptLevel[] = ['disabled', 'basic', 'extended', 'layout', 'all'];

export interface SessionOptions {
  provider?: Provider;
  /** Intra-op threads; 0 or undefined lets onnxruntime decide (one per physical core). */
  threads?: number;
  optLevel?: OptLevel;
  /** Write the graph onnxruntime actually runs (after its own optimizations) to this file. */
  optimizedModelPath?: string;
  enableProfiling?: boolean;
  profilePrefix?: string;
  memArena?: boolean;
  memPattern?: boolean;
  /** Free dimension overrides, e.g. { batch: 1 }. */
  freeDims?: Record<string, number>;
  /** Extra session config entries (ort "session.*" keys). */
  config?: Record<string, string>;
}

/** Why a provider cannot be used here, or null if it can. */
export function providerUnavailable(provider: Provider): string | null {
  const backends = ort.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  const entry = backends.find((b) => b.name === provider);
  if (!entry) return `onnxruntime-node ${ort.env.versions.node ?? ''} on ${process.platform}-${process.arch} has no '${provider}' execution provider`;
  if (entry.bundled) return null;
  // Non-bundled providers (CUDA, TensorRT) need shared libraries that the npm install script
  // downloads; with ONNXRUNTIME_NODE_INSTALL=skip, or without an NVIDIA driver, they are absent.
  const dir = providerLibDir();
  const lib = `${dir}/libonnxruntime_providers_${provider}.so`;
  if (!existsSync(lib)) {
    return `the '${provider}' execution provider is not installed (missing ${lib}); reinstall onnxruntime-node with its CUDA binaries (npm install onnxruntime-node without ONNXRUNTIME_NODE_INSTALL=skip) on a machine with an NVIDIA driver${provider === 'tensorrt' ? ' and TensorRT' : ''}`;
  }
  return null;
}

function providerLibDir(): string {
  const base = new URL('../../node_modules/onnxruntime-node/bin/napi-v6/', import.meta.url).pathname;
  return `${base}${process.platform}/${process.arch}`;
}

export function toOrtOptions(opts: SessionOptions): ort.InferenceSession.SessionOptions {
  const provider = opts.provider ?? 'cpu';
  const o: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: opts.optLevel ?? 'all',
  };
  if (opts.threads !== undefined) {
    if (!Number.isInteger(opts.threads) || opts.threads < 0) throw new UsageError(`threads must be a non-negative integer, got ${opts.threads}`);
    o.intraOpNumThreads = opts.threads;
    o.interOpNumThreads = 1;
  }
  if (opts.optimizedModelPath) o.optimizedModelFilePath = opts.optimizedModelPath;
  if (opts.enableProfiling) {
    o.enableProfiling = true;
    if (opts.profilePrefix) o.profileFilePrefix = opts.profilePrefix;
  }
  if (opts.memArena !== undefined) o.enableCpuMemArena = opts.memArena;
  if (opts.memPattern !== undefined) o.enableMemPattern = opts.memPattern;
  if (opts.freeDims) o.freeDimensionOverrides = opts.freeDims;
  // onnxruntime flattens `extra` into dotted session-config keys such as session.intra_op.allow_spinning.
  if (opts.config) o.extra = { ...opts.config };
  o.logSeverityLevel = 3;
  return o;
}

/** Creates a session from a file path or serialized model bytes. Errors name the model and provider. */
export async function createSession(model: string | Uint8Array, opts: SessionOptions = {}, label?: string): Promise<ort.InferenceSession> {
  const provider = opts.provider ?? 'cpu';
  const why = providerUnavailable(provider);
  if (why) throw new KilnError(why);
  const name = label ?? (typeof model === 'string' ? model : 'model');
  try {
    return typeof model === 'string'
      ? await ort.InferenceSession.create(model, toOrtOptions(opts))
      : await ort.InferenceSession.create(model, toOrtOptions(opts));
  } catch (e) {
    throw new KilnError(`${name}: onnxruntime could not load the model: ${(e as Error).message}`, { cause: e });
  }
}

/** `fetches` may hold pre-allocated output tensors, which onnxruntime then writes into (no per-run allocation). */
export async function run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, label = 'model', fetches?: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  try {
    return await (fetches ? session.run(feeds, fetches) : session.run(feeds));
  } catch (e) {
    throw new KilnError(`${label}: inference failed: ${(e as Error).message}`, { cause: e });
  }
}

export const ortVersion = (): string => ort.env.versions.node ?? ort.env.versions.common;
export { ort };
