// The layer zips prebuilt by the project's layer build (scripts/build-layers.sh)
// and shipped in this package under `layers/` (see scripts/prepare-layers.js).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { muslTarget } from './bundling';

/** Directory of the prebuilt layer zips inside the package. */
export const PREBUILT_LAYER_DIR = path.join(__dirname, '..', 'layers');

/** File name of the prebuilt layer zip for `architecture`: `graceful-shutdown-<arm64|x86_64>.zip`. */
export function prebuiltLayerFileName(architecture: Architecture): string {
  muslTarget(architecture); // refuses an architecture the layer is not built for, by name
  return `graceful-shutdown-${architecture.name}.zip`;
}

/** Path of the prebuilt layer zip for `architecture`; an error when the package lacks it. */
export function prebuiltLayerZip(architecture: Architecture): string {
  const file = path.join(PREBUILT_LAYER_DIR, prebuiltLayerFileName(architecture));
  if (!fs.existsSync(file)) {
    throw new Error(`The prebuilt shutdown layer for ${architecture.name} is missing from this package (${file}): `
      + 'reinstall the package, or build the layer from source with `fromSource: true` (needs Rust and cargo-lambda).');
  }
  return file;
}
