// A small, seeded homes table in the spirit of Zillow's `properties` (the demo's bundled workload).
// Same seed, same rows: the demo and tests can rely on its values.
import { gaussian, mulberry32 } from '../random.js';

export interface Homes {
  parcelid: Int32Array;
  bedroomcnt: Float64Array;
  bathroomcnt: Float64Array;
  finishedsquarefeet: Float64Array;
  lotsizesquarefeet: Float64Array;
  yearbuilt: Float64Array;
  latitude: Float64Array;
  longitude: Float64Array;
  taxvaluedollarcnt: Float64Array;
  zoning: (string | null)[];
  logerror: Float64Array;
}

export function generateHomes(n: number, seed = 42): Homes {
  const r = mulberry32(seed);
  const h: Homes = {
    parcelid: new Int32Array(n), bedroomcnt: new Float64Array(n), bathroomcnt: new Float64Array(n),
    finishedsquarefeet: new Float64Array(n), lotsizesquarefeet: new Float64Array(n), yearbuilt: new Float64Array(n),
    latitude: new Float64Array(n), longitude: new Float64Array(n), taxvaluedollarcnt: new Float64Array(n),
    zoning: new Array(n), logerror: new Float64Array(n),
  };
  const zones = ['LAR1', 'LARS', 'LAR3', 'LBR1N', 'SCUR2', 'PSR6'];
  let id = 10_711_738;
  for (let i = 0; i < n; i++) {
    id += 1 + Math.floor(r() * 40);
    const beds = Math.max(1, Math.round(3 + gaussian(r)));
    const sqft = Math.round(Math.max(400, 600 + beds * 420 + gaussian(r) * 300));
    h.parcelid[i] = id;
    h.bedroomcnt[i] = beds;
    h.bathroomcnt[i] = r() < 0.04 ? NaN : Math.max(1, Math.round((beds * 0.7 + gaussian(r) * 0.5) * 2) / 2);
    h.finishedsquarefeet[i] = r() < 0.06 ? NaN : sqft;
    h.lotsizesquarefeet[i] = r() < 0.1 ? NaN : Math.round(sqft * (2 + r() * 6));
    h.yearbuilt[i] = r() < 0.02 ? NaN : Math.round(1900 + r() * 115);
    h.latitude[i] = Math.round((34.0 + gaussian(r) * 0.25) * 1e6);
    h.longitude[i] = Math.round((-118.3 + gaussian(r) * 0.3) * 1e6);
    h.taxvaluedollarcnt[i] = Math.round(sqft * (180 + r() * 220));
    h.zoning[i] = r() < 0.15 ? null : zones[Math.floor(r() * zones.length)]!;
    h.logerror[i] = 0.01 + 0.00002 * (sqft - 1800) - 0.0004 * (h.yearbuilt[i]! - 1960 || 0) * 0.1 + gaussian(r) * 0.08;
  }
  return h;
}
