// The lab node's smoke-test image: a static HTTP server with no dependencies, FROM scratch.
module replatform.test/lab/node-smoke

go 1.26.0
