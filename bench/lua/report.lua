-- Adds the percentiles RDK's bench reads (microseconds) to wrk's summary.
done = function(summary, latency, requests)
  io.write(string.format("rdk:p50=%d\nrdk:p95=%d\nrdk:p99=%d\nrdk:requests=%d\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.requests))
end
