// The layer zips prebuilt by the project's layer build (scripts/build-layers.sh)
// and shipped in this package under `layers/` (see scripts/prepare-layers.js).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { LayerFlavour, muslTarget } from './bundling';
import { LAYER } from './limits.generated';

/** Directory of the prebuilt layer zips inside the package. */
export const PREBUILT_LAYER_DIR = path.join(__dirname, '..', 'layers');

/**
 * File name of the prebuilt layer zip for `architecture` and `flavour`, the
 * flavour's `prebuiltZip` in `spec/layer.json`: `graceful-shutdown-<arm64|x86_64>.zip`,
 * `graceful-shutdown-handoff-<arm64|x86_64>.zip`.
 */
export function prebuiltLayerFileName(architecture: Architecture, flavour: LayerFlavour = 'default'): string {
  muslTarget(architecture); // refuses an architecture the layer is not built for, by name
  return LAYER.flavours[flavour].prebuiltZip.replace('{arch}', architecture.name);
}

/** Path of the prebuilt layer zip for `architecture` and `flavour`; an error when the package lacks it. */
export function prebuiltLayerZip(architecture: Architecture, flavour: LayerFlavour = 'default'): string {
  const file = path.join(PREBUILT_LAYER_DIR, prebuiltLayerFileName(architecture, flavour));
  if (!fs.existsSync(file)) {
    const which = flavour === 'default' ? 'shutdown layer' : `shutdown layer's ${flavour} flavour`;
    throw new Error(`The prebuilt ${which} for ${architecture.name} is missing from this package (${file}): `
      + 'reinstall the package, or build the layer from source with `fromSource: true` (needs Rust and cargo-lambda).');
  }
  return file;
}
