// A seeded, deterministic stand-in for the Kaggle "Zillow Home Value Prediction" files (the real ones
// cannot be downloaded here): properties.csv (parcelid + 57 attributes with Zillow's names, missing-value
// rates, correlations and categorical codes), train.csv (parcelid, transactiondate, logerror) and
// test.csv (parcelid + three sale dates). Same rows and seed, same bytes, on any machine.
//
//   node dist/datasets/zillow/generate.js --rows 100000 --out data/zillow
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gaussian, mulberry32 } from '../random.js';

export interface ZillowFiles { dir: string; properties: string; train: string; test: string; rows: number; trainRows: number }

type Cell = number | string | null;

/** The 58 columns of properties.csv, in Zillow's order. */
export const PROPERTY_COLUMNS = [
  'parcelid', 'airconditioningtypeid', 'architecturalstyletypeid', 'basementsqft', 'bathroomcnt', 'bedroomcnt',
  'buildingclasstypeid', 'buildingqualitytypeid', 'calculatedbathnbr', 'decktypeid', 'finishedfloor1squarefeet',
  'calculatedfinishedsquarefeet', 'finishedsquarefeet12', 'finishedsquarefeet13', 'finishedsquarefeet15',
  'finishedsquarefeet50', 'finishedsquarefeet6', 'fips', 'fireplacecnt', 'fullbathcnt', 'garagecarcnt',
  'garagetotalsqft', 'hashottuborspa', 'heatingorsystemtypeid', 'latitude', 'longitude', 'lotsizesquarefeet',
  'poolcnt', 'poolsizesum', 'pooltypeid10', 'pooltypeid2', 'pooltypeid7', 'propertycountylandusecode',
  'propertylandusetypeid', 'propertyzoningdesc', 'rawcensustractandblock', 'regionidcity', 'regionidcounty',
  'regionidneighborhood', 'regionidzip', 'roomcnt', 'storytypeid', 'threequarterbathnbr', 'typeconstructiontypeid',
  'unitcnt', 'yardbuildingsqft17', 'yardbuildingsqft26', 'yearbuilt', 'numberofstories', 'fireplaceflag',
  'structuretaxvaluedollarcnt', 'taxvaluedollarcnt', 'assessmentyear', 'landtaxvaluedollarcnt', 'taxamount',
  'taxdelinquencyflag', 'taxdelinquencyyear', 'censustractandblock',
] as const;

// Counties of the real data: Los Angeles (6037), Orange (6059), Ventura (6111), with their share of parcels
// and a centre; parcels cluster around a few dozen neighbourhood centres inside each county.
const COUNTIES = [
  { fips: 6037, region: 3101, share: 0.65, lat: 34.05, lon: -118.25, spread: 0.22 },
  { fips: 6059, region: 1286, share: 0.26, lat: 33.70, lon: -117.85, spread: 0.14 },
  { fips: 6111, region: 2061, share: 0.09, lat: 34.25, lon: -119.05, spread: 0.12 },
];
const LANDUSE = [ // propertylandusetypeid, countylanduse code, share, residential
  { id: 261, code: '0100', share: 0.68 }, { id: 266, code: '010C', share: 0.16 }, { id: 246, code: '0200', share: 0.05 },
  { id: 269, code: '010E', share: 0.04 }, { id: 248, code: '0400', share: 0.03 }, { id: 247, code: '0300', share: 0.02 },
  { id: 263, code: '1111', share: 0.01 }, { id: 31, code: '1720', share: 0.01 },
];
const ZONING = ['LAR1', 'LARS', 'LAR3', 'LARD1.5', 'LBR1N', 'SCUR2', 'PSR6', 'LAC2', 'GAR1', 'PDR1', 'LCR1YY', 'TORR-LO'];

function pick<T extends { share: number }>(r: () => number, xs: readonly T[]): T {
  let u = r();
  for (const x of xs) { if ((u -= x.share) < 0) return x; }
  return xs[xs.length - 1]!;
}

const maybe = (r: () => number, pMissing: number, v: Cell): Cell => (r() < pMissing ? null : v);
const round = (v: number, d = 0): number => { const f = 10 ** d; return Math.round(v * f) / f; };

/** One property row (58 cells) and the hidden "true" value effect that drives its logerror. */
function property(r: () => number, parcelid: number, hoods: { lat: number; lon: number; county: (typeof COUNTIES)[number]; quality: number }[]): { cells: Cell[]; effect: number } {
  const hood = hoods[Math.floor(r() * hoods.length)]!;
  const c = hood.county;
  const use = pick(r, LANDUSE);
  const beds = Math.max(0, Math.min(12, Math.round(3 + gaussian(r) * 1.1)));
  const baths = Math.max(0, Math.round((beds * 0.75 + 0.4 + gaussian(r) * 0.6) * 2) / 2);
  const sqft = Math.round(Math.max(300, 450 + beds * 380 + baths * 120 + gaussian(r) * 350 + hood.quality * 200));
  const lot = Math.round(sqft * Math.exp(1.2 + gaussian(r) * 0.6));
  const year = Math.max(1885, Math.min(2016, Math.round(1962 + gaussian(r) * 20 - hood.quality * 4)));
  const lat = hood.lat + gaussian(r) * 0.015;
  const lon = hood.lon + gaussian(r) * 0.015;
  const perSqft = Math.max(40, 260 + hood.quality * 120 + gaussian(r) * 60 - (2016 - year) * 0.6);
  const structure = Math.round(sqft * perSqft * (0.35 + r() * 0.1));
  const land = Math.round(structure * (0.8 + hood.quality * 0.4 + r() * 0.8));
  const total = structure + land;
  const pool = r() < 0.18 ? 1 : null;
  const garage = c.fips === 6037 ? null : Math.max(0, Math.round(1.8 + gaussian(r) * 0.6));
  const tract = 60000000 + c.fips % 1000 * 100000 + Math.floor(r() * 9000) + (Math.floor(r() * 4) + 1) / 10;
  const quality = c.fips === 6037 ? Math.max(1, Math.min(12, Math.round(6 - hood.quality * 2 + gaussian(r) * 1.5))) : null;
  const delinquent = r() < 0.02;
  const cells: Cell[] = [
    parcelid,
    maybe(r, 0.68, r() < 0.9 ? 1 : 13), // airconditioningtypeid
    maybe(r, 0.997, 7), // architecturalstyletypeid
    maybe(r, 0.999, Math.round(300 + r() * 900)), // basementsqft
    baths, beds,
    maybe(r, 0.995, 4), // buildingclasstypeid
    quality,
    baths > 0 ? baths : null, // calculatedbathnbr
    maybe(r, 0.99, 66), // decktypeid
    maybe(r, 0.92, Math.round(sqft * 0.55)), // finishedfloor1squarefeet
    maybe(r, 0.015, sqft), // calculatedfinishedsquarefeet
    maybe(r, 0.05, sqft), // finishedsquarefeet12
    maybe(r, 0.997, Math.round(sqft * 0.9)), // finishedsquarefeet13
    maybe(r, 0.94, Math.round(sqft * 1.1)), // finishedsquarefeet15
    maybe(r, 0.92, Math.round(sqft * 0.55)), // finishedsquarefeet50
    maybe(r, 0.995, sqft), // finishedsquarefeet6
    c.fips,
    maybe(r, 0.89, r() < 0.9 ? 1 : 2), // fireplacecnt
    baths > 0 ? Math.floor(baths) : null, // fullbathcnt
    garage,
    garage === null ? null : Math.round(garage * 230 + r() * 120), // garagetotalsqft
    r() < 0.023 ? 'true' : null, // hashottuborspa
    c.fips === 6037 ? (r() < 0.75 ? 2 : 7) : maybe(r, 0.6, 24), // heatingorsystemtypeid
    Math.round(lat * 1e6), Math.round(lon * 1e6),
    maybe(r, 0.09, lot),
    pool, pool ? maybe(r, 0.9, Math.round(350 + r() * 400)) : null, // poolcnt, poolsizesum
    pool && r() < 0.05 ? 1 : null, pool && r() < 0.05 ? 1 : null, pool && r() > 0.1 ? 1 : null, // pooltypeid10, 2, 7
    use.code, use.id,
    c.fips === 6037 ? maybe(r, 0.05, ZONING[Math.floor(r() * ZONING.length)]!) : null, // propertyzoningdesc
    tract, // rawcensustractandblock
    maybe(r, 0.02, 10000 + Math.floor((lat * 40 + lon * 7) % 200) * 97 % 50000), // regionidcity
    c.region,
    maybe(r, 0.6, 27000 + Math.floor(hood.lat * 1000 + hood.lon * 100) % 250000), // regionidneighborhood
    96000 + Math.floor((lat - 33) * 300 + (lon + 120) * 50) % 1000, // regionidzip
    c.fips === 6037 ? 0 : Math.max(3, beds + Math.round(baths) + 2), // roomcnt
    maybe(r, 0.999, 7), // storytypeid
    maybe(r, 0.89, 1), // threequarterbathnbr
    maybe(r, 0.998, 6), // typeconstructiontypeid
    c.fips === 6037 ? (use.id === 246 ? 2 : use.id === 247 ? 3 : use.id === 248 ? 4 : 1) : null, // unitcnt
    maybe(r, 0.97, Math.round(100 + r() * 400)), // yardbuildingsqft17
    maybe(r, 0.999, Math.round(50 + r() * 300)), // yardbuildingsqft26
    maybe(r, 0.02, year),
    maybe(r, 0.77, r() < 0.7 ? 1 : 2), // numberofstories
    r() < 0.002 ? 'true' : null, // fireplaceflag
    structure, total, 2015, land,
    round(total * (0.0118 + r() * 0.002), 2), // taxamount
    delinquent ? 'Y' : null, delinquent ? Math.round(6 + r() * 9) : null,
    c.fips * 1e9 + Math.floor(tract * 1000) % 1e9, // censustractandblock
  ];
  // Zillow's estimate misses systematically on old, large, high-quality-neighbourhood and pool homes.
  const effect = 0.012 * (2016 - year) / 50 + 0.00001 * (sqft - 1800) - 0.015 * hood.quality + (pool ? 0.008 : 0) + (use.id === 266 ? -0.01 : 0);
  return { cells, effect };
}

function csvCell(v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  return /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** Writes the three CSV files into `dir` (created if needed); returns their paths. */
export function generateZillow(dir: string, rows: number, seed = 2017): ZillowFiles {
  if (!Number.isInteger(rows) || rows < 10) throw new Error(`--rows must be an integer ≥ 10, got ${rows}`);
  fs.mkdirSync(dir, { recursive: true });
  const r = mulberry32(seed);
  const hoods = Array.from({ length: 60 }, () => {
    const county = pick(r, COUNTIES);
    return { county, lat: county.lat + gaussian(r) * county.spread, lon: county.lon + gaussian(r) * county.spread, quality: gaussian(r) };
  });
  const files: ZillowFiles = {
    dir, rows, trainRows: 0,
    properties: path.join(dir, 'properties.csv'), train: path.join(dir, 'train.csv'), test: path.join(dir, 'test.csv'),
  };
  const props: string[] = [PROPERTY_COLUMNS.join(',')];
  const train: string[] = ['parcelid,logerror,transactiondate'];
  const test: string[] = ['parcelid,201610,201611,201612'];
  let id = 10_711_738;
  const start = Date.UTC(2016, 0, 1);
  for (let i = 0; i < rows; i++) {
    id += 1 + Math.floor(r() * 60);
    const { cells, effect } = property(r, id, hoods);
    props.push(cells.map(csvCell).join(','));
    test.push(`${id},2016-10-01,2016-11-01,2016-12-01`);
    // About 40% of parcels sold in 2016, a few twice: logerror = log(Zestimate) − log(sale price).
    const sales = r() < 0.4 ? (r() < 0.02 ? 2 : 1) : 0;
    for (let s = 0; s < sales; s++) {
      const day = Math.floor(r() * 365);
      const date = new Date(start + day * 86400000).toISOString().slice(0, 10);
      const noise = gaussian(r) * 0.06 + (r() < 0.03 ? gaussian(r) * 0.5 : 0); // heavy tails, as in the real data
      train.push(`${id},${round(effect + 0.011 + noise + day * 0.00002, 6)},${date}`);
      files.trainRows++;
    }
  }
  fs.writeFileSync(files.properties, props.join('\n') + '\n');
  fs.writeFileSync(files.train, train.join('\n') + '\n');
  fs.writeFileSync(files.test, test.join('\n') + '\n');
  return files;
}

function main(argv: string[]): void {
  let rows = 100_000;
  let out = 'data/zillow';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rows') rows = Number(argv[++i]);
    else if (argv[i] === '--out') out = argv[++i]!;
    else if (argv[i] === '--help') { console.log('usage: generate --rows N (default 100000) --out DIR (default data/zillow)'); return; }
    else throw new Error(`unknown argument ${argv[i]}: use --rows N --out DIR`);
  }
  const f = generateZillow(out, rows);
  console.log(`wrote ${f.rows} properties and ${f.trainRows} sales to ${f.dir}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main(process.argv.slice(2));
