// mistique: the command line (run() parses and dispatches; bin.ts is the executable). `mistique <command> --help` for each command.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../paths.js';
import { MistiqueError } from '../errors.js';
import type { Io } from './commands.js';
// each command's module loads when it runs: `mistique --help` or `ls` does not load onnxruntime or the diagnostics
const commands = (): Promise<typeof import('./commands.js')> => import('./commands.js');

const HELP: Record<string, string> = {
  main: `mistique — Model Intermediate STore and QUery Engine

usage: mistique [--store <dir>] <command> [options]

commands:
  log <project.model.intermediate> <file>   log an intermediate from a .csv, .npy, .arrow or .parquet file
  log <pipeline.yaml> --data <dir>          run a TRAD pipeline spec and log every stage's output
  log <checkpoint.onnx> --model <p.m>       run an ONNX network over images and log every layer
  rerun <project.model.intermediate>        re-create a pipeline's intermediate from its stored operators
  ls [pattern]                              list stored intermediates (pattern: project.model.intermediate, * allowed)
  get <key> [<key> …]                       read intermediates: keys are project.model.intermediate.column, * allowed
  sql "<query>"                              one SQL statement over the store (DuckDB): relations are quoted keys
  export <key> [<key> …] --out PATH         whole intermediates to Parquet, Arrow, .npy or CSV files
  index <project.model.layer>               build a vector index (HNSW) for KNN on a stored layer (--list, --drop)
  explain <key> [<key> …]                   the cost model's read and re-run estimates, its choice and why
  stats                                     bytes per project/model, de-duplication and compression ratios
  verify [--repair]                         check every checksum, file and intermediate of a store
  rm <project[.model[.intermediate]]> …     delete intermediates or whole models (* allowed; --dry-run)
  gc [--all]                                reclaim the space of what nothing references any more
  diagnose <technique> <key> …              svcca, knn, topk, heatmap, netdissect, pointq, coldiff, coldist, rowdiff
  demo                                      log a small bundled workload and answer a few queries
  serve [--port 8080]                       a web viewer of the store: heatmaps, distributions, comparisons, queries

options for every command:
  --store <dir>   the store directory (default: $MISTIQUE_STORE or ./mistique-store), before or after the command
  --wait <sec>    a command that writes waits this long for another writer to close the store (default 0:
                  it fails at once, saying who writes); readers never wait
  --help          help for the command
An option a command does not take is an error (exit 2). mistique --version prints the version.
Exit status: 0 done; 1 the command failed (the message says why and what to do); 2 a usage error (an
unknown command or option); 3 (verify) the store cannot be opened.`,
  log: `usage: mistique log <project.model.intermediate> <file> [--shape CxHxW] [--replace] [--store dir]
       mistique log --stream [--scheme none|lp|kbit8|pool2+lp|…] [--store dir]   (a framed stream on stdin)
       mistique log <pipeline.yaml> [--data dir] [--store dir]
       mistique log <checkpoint.onnx> --model project.model [--images test|train|subset | --input x.npy …]
                    [--examples N] [--scheme none|lp|kbit8|threshold99.5|pool2|poolS|pool2+lp] [--batch N]
                    [--layers 'relu*,softmax*'] [--store dir]

A pipeline spec (.yaml/.yml) is run stage by stage (progress bar on stderr); every stage's output becomes
<project>.<pipeline>.<stage>, trained operators and stage timings are stored for re-runs.
  --data     the directory its ReadCSV stages read from (default: $MISTIQUE_DATA, else the spec's directory)

An ONNX checkpoint is run over Fashion-MNIST images (the Debian package's test set by default, or the
committed 500-image subset) layer by layer; every layer becomes <project>.<model>.<layer> (conv1, relu1, …).
  --input    your examples instead, as .npy (examples, …per-example dims): floats (16/32/64 bits) for a
             float input, integers of any width (uint8 images, int64 token ids) or bools for an integer or
             bool input; name=a.npy,name2=b.npy for a model of several inputs. Repeat --input for examples of other
             shapes (images of each height × width): a layer whose shape follows the input is stored per
             shape as <layer>-<input shape> (conv1-3x64x64), the others once over all examples
  --layers   only these layers, by name or ONNX output name, * for any characters (default: every layer)
  --batch    examples a forward pass takes (default: 128, or fewer where 128 examples' layers pass 256 MB)

Logs one intermediate computed by your own code (e.g. a PyTorch or scikit-learn script).
  .csv       a header row; numeric columns become float64 (empty = NaN), others utf8 (empty = null)
  .npy       a C-order float32/float64 array of shape (examples, …); the trailing dims become the per-example shape
  .arrow     an Arrow IPC file; a row_id Int32 column, if present, gives the row ids
  .parquet   a Parquet file, as above
  --shape    per-example shape for a flat file, e.g. 32x28x28

--stream reads batches of float32 tensors from another program on stdin — what python/mistique's
capture() sends from PyTorch forward hooks — in the framing of docs/STREAM.md (a JSON header per
batch, then its raw little-endian values), one message at a time (bounded memory), and stores each key
as an intermediate with --scheme (or the scheme its first batch names). Everything becomes durable at
the stream's end message, or nothing does. Prints one JSON line: what was logged.`,
  ls: `usage: mistique ls [pattern] [--format table|csv|json|jsonl] [--store dir]

Lists intermediates with rows, columns, per-example shape, storage scheme, raw and stored bytes, and how
often each was queried. pattern matches project.model.intermediate, e.g. 'zillow.P1.*' or '*.*.conv1'.
  --format  table (default) for reading; csv, json or jsonl for piping
  --columns every column of each intermediate with its type (a tensor: its shape and how values are named)`,
  get: `usage: mistique get <key> [<key> …] [--rows R] [--out FILE|-] [--format table|csv|json|jsonl|npy] [--limit N] [--store dir]

Reads columns; several keys are joined on row_id.
  key       project.model.intermediate.column, '*' at any level: 'zillow.P1.pred.*', 'fm.cnn_e09.conv1.3_*'
  --rows    row ids: 5 | 1,7,9 | 100-200 (inclusive) | 1,5-8; default all rows
  --out     write the result instead of printing it: .npy (with its row ids in <name>.row_id.npy; numbers
            only), .arrow, .parquet (a whole tensor: row_id and one list column, its shape in the field's
            metadata) or .csv (row_id first); \`mistique log\` reads each back as it was; - for stdout
  --format  table (default: the first rows, for reading, and only they are read); csv, json or jsonl:
            every row, as data on stdout, written as it is made (what it took goes to stderr); NaN and
            ±Infinity are null in JSON; npy (with --out -):
            the values then the row ids as two .npy arrays one after the other on stdout, numbers only
            (the Python package reads them straight from the pipe)
  --limit   rows to print (default 20)
  --path    auto (default: read or re-run, whichever the cost model estimates faster) | read | rerun`,
  sql: `usage: mistique sql "<query>" [--format table|csv|json|jsonl] [--out FILE] [--limit N] [--store dir]

One SQL statement, run by DuckDB in-process, read-only. Every intermediate is a relation named by its
quoted key, with row_id and its columns; a tensor layer has row_id and \`values\`, a list of its float32
values (its shape is in mistique_intermediates). Catalog relations: mistique_intermediates (key, project,
model, name, n_rows, n_cols, shape, scheme, policy, bytes_raw, bytes_stored, n_query, …),
mistique_models, mistique_projects, mistique_lineage (key, op, input: what each stage or layer is computed
from). Conditions on row_id (=, <, <=, >, >=, BETWEEN, IN) narrow what is
read; each intermediate is read or re-run as the cost model chooses.
  e.g. mistique sql 'SELECT a.row_id, a.pred, b.pred FROM "zillow.P1_1.pred_test" a
                     JOIN "zillow.P2_1.pred_test" b USING (row_id) ORDER BY abs(a.pred - b.pred) DESC LIMIT 20'
  --format  table (default: the first rows, every digit; lists shortened) | csv | json | jsonl (every row)
  --out     write the result with DuckDB's COPY: .parquet, .csv or .json
  --limit   rows to print in a table (default 20)`,
  export: `usage: mistique export <project.model.intermediate> … --out PATH [--format parquet|arrow|npy|csv] [--compression snappy|zstd|lz4|none] [--json] [--store dir]

Writes whole intermediates to standard files, streamed a group of RowBlocks at a time (bounded memory),
with a progress bar. One intermediate: PATH is the file, its format from its extension or --format.
Several (a pattern with *, or several keys): PATH is a directory, one file each named <key>.<format>
(--format, default parquet).
  parquet, arrow  row_id and the columns by name; a tensor: row_id and one fixed-size list of float32
                  per example named by its key, its shape in the field's metadata (mistique.shape)
  npy             N × shape values in C order (float32 for a tensor), row ids in <name>.row_id.npy
  csv             row_id, then the columns; every digit
Schema metadata (Parquet, Arrow): mistique.key, mistique.scheme, mistique.shape, and mistique.values —
'as logged', or for a quantized scheme that the values are the floats a read returns and what the scheme
gave up. --compression applies to Parquet (default snappy, what pyarrow and DuckDB write).
  e.g. mistique export fm.cnn_e10.relu3 --out relu3.npy
       mistique export 'zillow.*.pred_test' --out preds/ --format parquet`,
  index: `usage: mistique index <project.model.layer> [--metric euclidean|cosine] [--json] [--store dir]
       mistique index --list [pattern] | --drop <project.model.layer> [--metric m]

Builds an HNSW vector index (usearch) over a stored layer's rows, saved in the store (indexes/), so that
\`mistique diagnose knn\` on the layer answers from it — about a millisecond a query instead of a search of
every row — until the layer is replaced or deleted (the index goes with it). Rows with NaN or ±Infinity
are left out. A rebuild replaces the index. Takes the write lock. Shows a progress bar.
  --metric  the distance KNN will ask for (default euclidean); one index per metric
  --list    the indexes (layer, metric, rows, size, build time)
  --drop    remove a layer's indexes (every metric, or --metric's)`,
  explain: `usage: mistique explain <key> [<key> …] [--rows R] [--measure | --run] [--path auto|read|rerun] [--json] [--store dir]

For each intermediate the keys touch: the estimated time to read the asked rows (Eq. 5.4 as six terms
measured on this machine for the codec and scheme: fixed, per RowBlock, per segment, per MB decoded, per
MB on disk, per MB of result; segments already decoded in the bufferpool cost none of them), the
estimated time to re-run its workflow up to it (Eq. 5.2 for pipelines: the stages it needs; Eq. 5.3 for
networks: model load + input read + batches × forward time up to the layer), the choice and why.
It changes nothing: a model not yet measured on this machine is shown as assumed.
  --measure  time what the estimates need first (reads, re-runs), as a query would, without running it
  --run      run the query too and show the measured time of the chosen path
  --rows   as for get`,
  rerun: `usage: mistique rerun <project.model.intermediate> [--rows R] [--limit N] [--format table|csv|json|jsonl] [--store dir]

Re-creates one intermediate of a logged pipeline from the source files and the stored trained operators
(nothing is retrained), or a network's layer from its checkpoint and stored input, and prints it.
--rows as for get. --format csv, json or jsonl: every value at full precision as data on stdout, as get
--path rerun prints it (the time on stderr).`,
  stats: `usage: mistique stats [--json] [--store dir]

Bytes logged, bytes kept after de-duplication, bytes on disk, per project/model.`,
  diagnose: `usage: mistique diagnose <technique> <key> … [options] [--store dir]

Runs a diagnostic technique on what the store answers (read or re-run, whichever the cost model says is
faster). A key may leave out the column for a whole intermediate: fm.cnn_e10.relu5 = fm.cnn_e10.relu5.*
  svcca <keyA> <keyB> [--variance 0.99]        similarity of two representations (mean canonical correlation)
  knn <key> --row 51 [--k 10] [--metric euclidean|cosine] [--by <labels key>] [--exact]
                                               the examples nearest to one, with their labels/predictions;
                                               a layer's vector index answers when built (mistique index), --exact searches every row
  topk <key.column> [--k 10] [--asc] [--by <key>]   the rows with the largest (smallest) value of a column
  heatmap <layer key> --by <labels key, or scores: their argmax> [--per-channel] [--out vis.png]
                                               mean activation per class and unit, written as a PNG
  netdissect <project.model.layer> [--alpha 0.005] [--limit 20] [--out netdissect.png]
                                               per unit: IoU of its top-α map with pixel concepts of the images;
                                               the picture shows the best units' masks on the images they like
  pointq <key> --row N [--channel C]           one example's values (one channel's map for a conv layer)
  coldiff <keyA.column> <keyB.column> [--tolerance 0] [--limit 20]   rows where two columns differ
  coldist <key.column> [--bins 20]             distribution: count of NaN/±Infinity, quantiles, histogram
  rowdiff <key> --rows A,B [--limit 20]        two rows side by side, largest differences first
  --rows    restrict every query to these row ids (as for get)
  --classes names of the --by classes 0, 1, …: fashion-mnist, or cat,dog,… (default: the values as they are)
  --json    every technique: the whole result as one JSON line (NaN and ±Infinity as null)`,
  verify: `usage: mistique verify [--repair] [--json] [--store dir]

Checks the whole store: SQLite's quick_check of metadata.db, every segment's CRC-32 and decode, that every
intermediate's chunks are registered, and that partitions/ holds only registered files. Takes the store's
write lock (a logging process must finish first).
  --repair   drop the intermediates that cannot be read whole and remove unreferenced files, reporting both
Exit status: 0 sound (or repaired), 1 problems found, 3 the store cannot be opened (metadata.db missing or damaged).`,
  rm: `usage: mistique rm <pattern> … [--dry-run] [--gc] [--force] [--json] [--store dir]

Deletes what each pattern names: project.model.intermediate (those intermediates; a pipeline or network
can still re-run them), project.model or project (whole models: their intermediates, workflow, trained
operators and checkpoint). * matches any part. Every pattern must match something, or nothing is deleted.
The bytes stay on disk until \`mistique gc\` (--gc runs it at once).
A network's layers re-run from its stored input (fmnist.inputs.x_…): deleting an input that layers left in
the store re-run from is refused, naming them, unless --force (delete them in the same command instead).
  --dry-run   list what would be deleted, delete nothing
  --force     delete an input even though layers left behind re-run from it`,
  gc: `usage: mistique gc [--all] [--json] [--store dir]

Reclaims the space of stored chunks that no intermediate references (after rm, or a writer that died):
partitions with nothing live are removed, partitions with at least a quarter unreferenced are rewritten
with their live chunks only (--all: any partition with something unreferenced). Safe beside readers;
takes the write lock.`,
  serve: `usage: mistique serve [--port 8080] [--host 127.0.0.1] [--store dir]

A web viewer of the store at http://127.0.0.1:8080/store until Ctrl-C: the store (models, intermediates,
storage by scheme and model, the cost model's accuracy), an intermediate (paged rows, a column's
distribution and top rows, a layer's activation maps beside its input image, the examples that excite a
unit), compare (two columns, SVCCA between two models' layers), query (explain and run, SQL). Every view
has its own URL. The JSON API under /api/ serves them (GET /api lists it; docs/API.md). Reads only;
a training job can keep logging into the store meanwhile.
  --port  the port (default 8080; 0: any free one)
  --host  the address to listen on (default 127.0.0.1, this machine only); another address exposes the
          store to whoever can reach it, so it is only ever used when given here`,
  demo: `usage: mistique demo [--store dir]

Builds a fresh store (default ./demo-store), logs a small bundled workload — a homes dataset, the
stages of two pipeline variants and a small network's activations — and answers a few queries.`,
};

/** The options each command takes besides --store and --help: any other is an error, never ignored. */
const TAKES: Record<string, readonly string[]> = {
  rerun: ['rows', 'limit', 'format'],
  ls: ['format', 'columns'],
  get: ['rows', 'out', 'limit', 'path', 'format'],
  explain: ['rows', 'run', 'measure', 'path', 'json'],
  sql: ['format', 'out', 'limit'],
  export: ['format', 'out', 'compression', 'json'],
  index: ['metric', 'json', 'list', 'drop'],
  stats: ['json'],
  verify: ['repair', 'json'],
  rm: ['dry-run', 'gc', 'json', 'force'],
  gc: ['all', 'json'],
  demo: [],
  serve: ['port', 'host'],
  diagnose: ['rows', 'row', 'k', 'channel', 'limit', 'metric', 'by', 'classes', 'variance', 'alpha', 'bins', 'tolerance', 'asc', 'per-channel', 'out', 'json', 'exact'],
};

/** log takes the options of its form: a pipeline spec, an ONNX checkpoint, or a data file. */
function logTakes(pos: readonly string[], stream: boolean): { form: string; takes: readonly string[] } {
  const [first = '', second = ''] = pos;
  if (stream) return { form: '--stream', takes: ['stream', 'scheme'] };
  if (/\.ya?ml$/i.test(first)) return { form: first, takes: ['data'] };
  if (/\.onnx$/i.test(first)) return { form: first, takes: ['model', 'images', 'input', 'examples', 'scheme', 'batch', 'layers'] };
  // a .npy file carries its own shape; a flat file (csv, arrow, parquet) may be given one
  return { form: second, takes: /\.npy$/i.test(second) ? ['replace'] : ['shape', 'replace'] };
}

export async function run(argv: string[], io: Io): Promise<number> {
  // --store, the one option of every command, may come before the command too (mistique --store s ls)
  const lead: string[] = [];
  for (let a = argv[0]; a === '--store' || a?.startsWith('--store='); a = argv[0]) {
    lead.push(...argv.slice(0, a === '--store' ? 2 : 1));
    argv = argv.slice(a === '--store' ? 2 : 1);
  }
  const [command, ...tail] = argv;
  const rest = [...tail, ...lead];
  if (command === '--version' || command === '-V') {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    io.out(`mistique ${pkg.version}`);
    return 0;
  }
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP.main!);
    return command ? 0 : 2;
  }
  if (!(command in HELP) || command === 'main') {
    io.err(`mistique: unknown command ${JSON.stringify(command)}\n\n${HELP.main}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: negativeValues(rest),
      allowPositionals: true,
      options: {
        store: { type: 'string' }, help: { type: 'boolean', short: 'h' }, rows: { type: 'string' }, out: { type: 'string', short: 'o' },
        limit: { type: 'string' }, json: { type: 'boolean' }, shape: { type: 'string' }, data: { type: 'string' }, model: { type: 'string' }, run: { type: 'boolean' }, path: { type: 'string' }, images: { type: 'string' }, examples: { type: 'string' }, scheme: { type: 'string' }, batch: { type: 'string' },
        row: { type: 'string' }, k: { type: 'string' }, metric: { type: 'string' }, by: { type: 'string' }, variance: { type: 'string' }, alpha: { type: 'string' },
        bins: { type: 'string' }, tolerance: { type: 'string' }, asc: { type: 'boolean' }, 'per-channel': { type: 'boolean' }, repair: { type: 'boolean' }, measure: { type: 'boolean' },
        'dry-run': { type: 'boolean' }, gc: { type: 'boolean' }, all: { type: 'boolean' }, format: { type: 'string' }, channel: { type: 'string' }, replace: { type: 'boolean' }, columns: { type: 'boolean' }, stream: { type: 'boolean' }, compression: { type: 'string' }, exact: { type: 'boolean' }, list: { type: 'boolean' }, drop: { type: 'boolean' },
        port: { type: 'string' }, host: { type: 'string' }, force: { type: 'boolean' }, input: { type: 'string', multiple: true }, layers: { type: 'string' }, classes: { type: 'string' }, wait: { type: 'string' },
      },
    });
  } catch (err) {
    io.err(`mistique ${command}: ${(err as Error).message}\n\n${HELP[command]}`);
    return 2;
  }
  const { values: o, positionals: pos } = parsed;
  if (o.help) { io.out(HELP[command]!); return 0; }
  const { form: logForm, takes } = command === 'log' ? logTakes(pos, o.stream === true) : { form: '', takes: TAKES[command]! };
  const stray = Object.keys(o).filter((k) => k !== 'store' && k !== 'help' && k !== 'wait' && !takes.includes(k));
  if (stray.length > 0) {
    const form = logForm ? ` ${logForm}` : '';
    io.err(`mistique ${command}${form}: --${stray.join(', --')} ${stray.length > 1 ? 'are not options' : 'is not an option'} of this command${takes.length ? ` (it takes --${takes.join(', --')})` : ''}; see mistique ${command} --help`);
    return 2;
  }
  const dir = o.store ?? process.env.MISTIQUE_STORE ?? (command === 'demo' ? './demo-store' : './mistique-store');
  if (o.wait !== undefined) {
    const seconds = Number(o.wait);
    if (o.wait.trim() === '' || !(seconds >= 0) || !Number.isFinite(seconds)) {
      io.err(`mistique ${command}: --wait takes seconds ≥ 0 (how long to wait for another writer to close the store), got ${JSON.stringify(o.wait)}`);
      return 2;
    }
    (await commands()).waitForWriters(Math.round(seconds * 1000));
  }
  // commands with no progress bar of their own say they are still working past 2 s (stderr)
  const stopWorking = ['get', 'sql', 'diagnose', 'explain', 'rerun'].includes(command) ? (await import('./progress.js')).working(`mistique ${command}`) : () => undefined;
  // the first line of output ends the note (on a terminal it would share the line)
  const out = io;
  io = { out: (x) => { stopWorking(); out.out(x); }, err: (x) => { stopWorking(); out.err(x); }, ...(out.write ? { write: (b: Uint8Array) => { stopWorking(); return out.write!(b); } } : {}) };
  try {
    switch (command) {
      case 'log':
        if (o.stream) {
          if (pos.length > 0) throw new MistiqueError('BAD_OPTION', `log --stream reads stdin and takes no file or key (got ${pos.join(' ')}); the keys are in the stream`);
          await (await commands()).logStreamCmd(dir, { scheme: o.scheme }, io);
        } else if (pos[0] && /\.ya?ml$/i.test(pos[0])) await (await commands()).logPipelineFile(dir, pos[0], { data: o.data }, io);
        else if (pos[0] && /\.onnx$/i.test(pos[0])) await (await commands()).logCheckpoint(dir, pos[0], { model: o.model, images: o.images, input: o.input, examples: o.examples, scheme: o.scheme, batch: o.batch, layers: o.layers }, io);
        else await (await commands()).logFile(dir, pos[0], pos[1], { shape: o.shape, replace: o.replace }, io);
        break;
      case 'rerun': await (await commands()).rerunCmd(dir, pos[0], { rows: o.rows, limit: o.limit, format: o.format }, io); break;
      case 'ls': await (await commands()).ls(dir, pos[0], { format: o.format, columns: o.columns }, io); break;
      case 'get': await (await commands()).get(dir, pos, { rows: o.rows, out: o.out, limit: o.limit, path: o.path, format: o.format }, io); break;
      case 'explain': await (await commands()).explainCmd(dir, pos, { rows: o.rows, run: o.run, measure: o.measure, path: o.path, json: o.json }, io); break;
      case 'sql': await (await import('./sql.js')).sqlCmd(dir, pos, { format: o.format, out: o.out, limit: o.limit }, io); break;
      case 'index': await (await import('./index.js')).indexCmd(dir, pos, { metric: o.metric, json: o.json, list: o.list, drop: o.drop }, io); break;
      case 'export': await (await import('./export.js')).exportCmd(dir, pos, { out: o.out, format: o.format, compression: o.compression, json: o.json }, io); break;
      case 'stats': await (await commands()).stats(dir, { json: o.json }, io); break;
      case 'verify': return await (await commands()).verify(dir, { repair: o.repair, json: o.json }, io);
      case 'rm': await (await import('./lifecycle.js')).rm(dir, pos, { dryRun: o['dry-run'], gc: o.gc, json: o.json, force: o.force }, io); break;
      case 'gc': await (await import('./lifecycle.js')).gcCmd(dir, { all: o.all, json: o.json }, io); break;
      case 'demo': await (await import('./demo.js')).demo(dir, io); break;
      case 'serve': await (await import('./serve.js')).serveCmd(dir, { port: o.port, host: o.host }, io); break;
      case 'diagnose':
        await (await import('./diagnose.js')).diagnose(dir, pos[0], pos.slice(1), {
          rows: o.rows, row: o.row, k: o.k, channel: o.channel, limit: o.limit, metric: o.metric, by: o.by, variance: o.variance, alpha: o.alpha, bins: o.bins,
          tolerance: o.tolerance, asc: o.asc, perChannel: o['per-channel'], out: o.out, json: o.json, exact: o.exact, classes: o.classes,
        }, io);
        break;
    }
    return 0;
  } catch (err) {
    if (err instanceof MistiqueError) {
      io.err(`mistique ${command}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    stopWorking();
    // --wait holds for this command only: a later run in the same process (a test, an embedding tool) fails at once again
    if (o.wait !== undefined) (await commands()).waitForWriters(0);
  }
}

/**
 * `--rows -1` as `--rows=-1`: a value that is a negative number (a row id may be) is never an option,
 * where parseArgs takes anything after an option that starts with '-' for one ("ambiguous").
 */
export function negativeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!, next = args[i + 1];
    if (/^--[a-z][a-z-]*$/.test(a) && next !== undefined && /^-\d/.test(next)) { out.push(`${a}=${next}`); i++; } else out.push(a);
  }
  return out;
}
