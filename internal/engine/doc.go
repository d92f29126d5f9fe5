// Package engine is the load engine shared by executors and local runs: it
// paces a job's requests open-loop at their planned times (in 1 ms send
// windows above 1,000/s), sends them (to http targets as bytes fasthttp
// renders once per job, over the engine's own connections and response
// reader; to https targets with fasthttp), classifies each outcome and
// records latency in HdrHistograms. The data it reads and writes (jobs,
// outcomes, reports) is package tally's, which the orchestrator shares
// without linking the HTTP client. It knows nothing of Kubernetes or gRPC.
package engine
