// The addon built by node-gyp (build/Release/lapack.node); see src/lapack.c.
module.exports = require('./build/Release/lapack.node');
