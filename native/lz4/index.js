// The addon built by node-gyp (build/Release/lz4.node); see src/lz4.c.
module.exports = require('./build/Release/lz4.node');
