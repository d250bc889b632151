// The code assets of the demo's Node.js and Python functions: the function's
// own file and this repository's library for its language, packaged the way a
// user of the library packages it. The AWS SDK is not in the asset: Lambda's
// nodejs22.x and python3.12 runtimes provide it (demo/README.md).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AssetHashType, DockerImage, ILocalBundling } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';

/** Root of the repository. */
const REPO_ROOT = path.resolve(__dirname, '..');
/** Where the demo's Node.js and Python function code lives. */
export const FUNCTIONS_DIR = path.join(REPO_ROOT, 'demo', 'functions');

/** Files and directories under these names are outputs or caches, not inputs. */
const NOT_INPUTS = new Set(['__pycache__', 'node_modules', 'dist', 'limits.generated.ts', '.venv', 'build']);

/**
 * The hash of the asset's inputs (file names and contents, in a stable
 * order): an unchanged input set skips the packaging on the next synth, and
 * any change to the function or its library makes a new asset.
 */
export function inputsHash(inputs: string[]): string {
  const hash = createHash('sha256');
  const visit = (p: string): void => {
    if (NOT_INPUTS.has(path.basename(p)) || p.endsWith('.pyc')) return;
    const stat = fs.statSync(p);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) visit(path.join(p, name));
    } else {
      hash.update(path.relative(REPO_ROOT, p)).update('\0').update(fs.readFileSync(p)).update('\0');
    }
  };
  for (const input of inputs) visit(input);
  return hash.digest('hex');
}

/** A local bundling that runs `bundle(outputDir)` and says what failed, naming the asset. */
function localBundling(what: string, bundle: (outputDir: string) => void): ILocalBundling {
  return {
    tryBundle(outputDir: string): boolean {
      try {
        bundle(outputDir);
      } catch (e) {
        throw new Error(`Packaging the ${what} failed: ${(e as Error).message}`);
      }
      return true;
    },
  };
}

/** Code of the Node.js function: `index.js` and the built, packed `lambda-graceful-shutdown` in `node_modules/`. */
export function nodeFunctionCode(): Code {
  const source = path.join(FUNCTIONS_DIR, 'nodejs');
  const pkg = path.join(REPO_ROOT, 'node');
  return Code.fromAsset(source, {
    assetHashType: AssetHashType.CUSTOM,
    assetHash: inputsHash([source, path.join(pkg, 'package.json'), path.join(pkg, 'src'), path.join(pkg, 'scripts'),
      path.join(pkg, 'README.md'), path.join(REPO_ROOT, 'spec', 'limits.json')]),
    bundling: {
      // Only the local bundling is used; the image is never pulled.
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
      local: localBundling('Node.js function (demo/functions/nodejs)', (out) => {
        fs.copyFileSync(path.join(source, 'index.js'), path.join(out, 'index.js'));
        installPackedNodeLibrary(path.join(out, 'node_modules', 'lambda-graceful-shutdown'));
      }),
    },
  });
}

/**
 * Builds the Node.js library with its own build script (`node/`, `pnpm run
 * build`), packs it with `npm pack` and unpacks the tarball into `dir`: what
 * `npm install lambda-graceful-shutdown` puts in a function's `node_modules`.
 */
function installPackedNodeLibrary(dir: string): void {
  const pkg = path.join(REPO_ROOT, 'node');
  execFileSync('pnpm', ['run', '--silent', 'build'], { cwd: pkg, stdio: ['ignore', 'ignore', 'inherit'] });
  const packDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-node-pack-'));
  try {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: pkg, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
    const tarball = path.join(packDir, packed[0].filename);
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1']);
  } finally {
    fs.rmSync(packDir, { recursive: true, force: true });
  }
}

/** Code of the Python function: `app.py` and the `lambda_graceful_shutdown` package's source beside it. */
export function pythonFunctionCode(): Code {
  const source = path.join(FUNCTIONS_DIR, 'python');
  const library = path.join(REPO_ROOT, 'python', 'src', 'lambda_graceful_shutdown');
  return Code.fromAsset(source, {
    assetHashType: AssetHashType.CUSTOM,
    assetHash: inputsHash([source, library]),
    bundling: {
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-python3.12'),
      local: localBundling('Python function (demo/functions/python)', (out) => {
        fs.copyFileSync(path.join(source, 'app.py'), path.join(out, 'app.py'));
        // The package as pip installs it: its modules, py.typed and limits.json; no bytecode caches.
        fs.cpSync(library, path.join(out, 'lambda_graceful_shutdown'), {
          recursive: true,
          filter: (p) => path.basename(p) !== '__pycache__' && !p.endsWith('.pyc'),
        });
      }),
    },
  });
}
