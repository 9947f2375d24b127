// onnxruntime-node, as every module of mistique takes it: with onnxruntime's telemetry off. Its Linux
// and macOS builds (1.30) send usage events to Microsoft, keep a device id and an event cache under
// ~/.cache/Microsoft/DeveloperTools, and leave a /tmp/mat-debug-<pid>.log in every process that runs a
// model; ORT_DISABLE_TELEMETRY=1 turns all of that off when set before the first session is created.
// Someone who wants it on sets ORT_DISABLE_TELEMETRY=0 themselves: their setting is kept.
process.env.ORT_DISABLE_TELEMETRY ??= '1';

export * from 'onnxruntime-node';
