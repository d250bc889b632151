#!/usr/bin/env node
// Runs before `jsii` compiles the package (npm "prebuild"). It makes the
// package self-contained, so that a published copy can build its layer:
//
//  1. `src/limits.generated.ts`: the repository's `spec/limits.json` (the single
//     source of truth for ports, timeouts and names) and `spec/metrics.json`
//     (the extension's EMF metrics) as TypeScript constants. It is committed
//     (a fresh clone imports it before any build); `scripts/generate.mjs`, the
//     project's one generator, refreshes it here when spec/ changed.
//  2. `rust-src/`: the shutdown extension's Rust sources (`rust/extension`,
//     `rust/protocol`, `spec/limits.json`, `Cargo.lock`) with a workspace
//     `Cargo.toml` that holds only those two crates. The layout mirrors the
//     repository, so `include_str!("../../../spec/limits.json")` still resolves;
//     its `Cargo.lock` is the repository's, pruned by cargo to those crates.
//
// Both outputs are generated, never edited by hand; `rust-src/` is ignored by git.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const repoDir = path.resolve(pkgDir, '..');
const CRATES = ['extension', 'protocol'];

function writeIfChanged(file, text) {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const SPECS = ['limits.json', 'metrics.json', 'layer.json'];

/** `src/limits.generated.ts` is committed; the project's one generator refreshes it if spec/ changed. */
function generateLimits() {
  execFileSync(process.execPath, [path.join(repoDir, 'scripts', 'generate.mjs')], { stdio: 'inherit' });
}

/** Split a TOML file into sections: the lines before the first header, then one entry per `[header]`. */
function sections(toml) {
  const out = [{ header: '', lines: [] }];
  for (const line of toml.split('\n')) {
    const m = /^\s*(\[\[?[^\]]+\]\]?)\s*(#.*)?$/.exec(line);
    if (m) out.push({ header: m[1], lines: [] });
    out[out.length - 1].lines.push(line);
  }
  return out;
}

/** A crate's manifest without what only its own tests need (dev-dependencies, test/bench/example targets). */
function crateManifest(toml) {
  const dropped = /^\[(dev-dependencies|target\..*\.dev-dependencies)\]$|^\[\[(test|bench|example)\]\]$/;
  return sections(toml).filter((s) => !dropped.test(s.header)).map((s) => s.lines.join('\n')).join('\n');
}

/** The repository's workspace manifest, narrowed to the crates copied into the package. */
function workspaceManifest(toml) {
  const kept = CRATES.map((c) => `rust/${c}`);
  return sections(toml).filter((s) => s.header || s.lines.some((l) => l.trim())).map((s) => {
    let lines = s.lines;
    if (s.header === '[workspace]') {
      lines = lines.map((l) => (/^\s*members\s*=/.test(l) ? `members = ${JSON.stringify(kept)}` : l));
    }
    if (s.header === '[workspace.dependencies]') {
      // Drop path dependencies on crates that are not shipped with the package.
      lines = lines.filter((l) => {
        const m = /path\s*=\s*"([^"]+)"/.exec(l);
        return !m || kept.includes(m[1]);
      });
    }
    return lines.join('\n');
  }).join('\n');
}

function copyDir(src, dst, skip) {
  fs.mkdirSync(dst, { recursive: true });
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    if (skip.includes(entry.name)) continue;
    const from = path.join(src, entry.name);
    const to = path.join(dst, entry.name);
    if (entry.isDirectory()) copyDir(from, to, []);
    else if (entry.isFile()) writeIfChanged(to, fs.readFileSync(from, 'utf8'));
  }
}

function bundleRustSources() {
  const out = path.join(pkgDir, 'rust-src');
  for (const crate of CRATES) {
    const src = path.join(repoDir, 'rust', crate);
    const dst = path.join(out, 'rust', crate);
    // Start from a clean copy of each crate so that deleted files do not linger.
    fs.rmSync(dst, { recursive: true, force: true });
    copyDir(src, dst, ['Cargo.toml', 'tests', 'benches', 'examples', 'target']);
    writeIfChanged(path.join(dst, 'Cargo.toml'), crateManifest(fs.readFileSync(path.join(src, 'Cargo.toml'), 'utf8')));
  }
  for (const spec of SPECS) {
    writeIfChanged(path.join(out, 'spec', spec), fs.readFileSync(path.join(repoDir, 'spec', spec), 'utf8'));
  }
  writeIfChanged(path.join(out, 'Cargo.lock'), fs.readFileSync(path.join(repoDir, 'Cargo.lock'), 'utf8'));
  writeIfChanged(path.join(out, 'Cargo.toml'), workspaceManifest(fs.readFileSync(path.join(repoDir, 'Cargo.toml'), 'utf8')));
  // Let cargo prune the lock file to the two crates now, so that a build from
  // an installed package never rewrites it (package managers may hard-link
  // installed files into a shared store).
  execFileSync('cargo', ['metadata', '--format-version', '1', '--manifest-path', path.join(out, 'Cargo.toml')],
    { stdio: ['ignore', 'ignore', 'inherit'] });
}

generateLimits();
bundleRustSources();
