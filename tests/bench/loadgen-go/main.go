// Command loadgen posts form fills to intake (each with a unique email) at a given concurrency,
// optionally capped at a rate, for a duration or a count, and prints one JSON object: what it
// sent, what was accepted, the status counts, latency percentiles and its own CPU seconds.
// It exists so that the bench's load does not eat the machine it measures (tests/bench/intake.py).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type result struct {
	Sent         int64              `json:"sent"`
	Accepted     int64              `json:"accepted"`
	Errors       int64              `json:"errors"`
	Status       map[string]int     `json:"status"`
	ElapsedS     float64            `json:"elapsed_s"`
	AcceptedPerS float64            `json:"accepted_per_s"`
	LatencyMs    map[string]float64 `json:"latency_ms"`
	CPUS         float64            `json:"cpu_s"`
	FirstError   string             `json:"first_error,omitempty"`
}

type worker struct {
	status    map[int]int
	latencies []time.Duration
	errors    int64
	firstErr  string
}

func body(prefix string, i int64) []byte {
	return []byte(fmt.Sprintf(
		`{"email":"%s-buyer%d@company%d.com","company":"Company %d","company_size":%d,`+
			`"country":"US","source":"paid_search"}`,
		prefix, i, i%500, i%500, 50+i%5000))
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i].Microseconds()) / 1000
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8001", "intake's base URL")
	key := flag.String("key", "", "API key (Bearer)")
	concurrency := flag.Int("concurrency", 32, "requests in flight")
	rate := flag.Float64("rate", 0, "requests per second, 0 for as fast as accepted")
	duration := flag.Duration("duration", 5*time.Second, "how long to send")
	count := flag.Int64("n", 0, "stop after this many requests (0: no limit)")
	prefix := flag.String("prefix", "lg", "email and correlation-id prefix (unique per run)")
	flag.Parse()

	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        *concurrency,
			MaxIdleConnsPerHost: *concurrency,
			MaxConnsPerHost:     *concurrency,
		},
	}
	endpoint := *url + "/v1/form-submissions"
	var next atomic.Int64
	var ticks <-chan time.Time
	if *rate > 0 {
		ticker := time.NewTicker(time.Duration(float64(time.Second) / *rate))
		defer ticker.Stop()
		ticks = ticker.C
	}
	cpu0 := cpuSeconds()
	started := time.Now()
	deadline := started.Add(*duration)
	workers := make([]*worker, *concurrency)
	var wg sync.WaitGroup
	for w := range workers {
		workers[w] = &worker{status: map[int]int{}}
		wg.Add(1)
		go func(me *worker) {
			defer wg.Done()
			for {
				if ticks != nil {
					<-ticks
				}
				i := next.Add(1) - 1
				if time.Now().After(deadline) || (*count > 0 && i >= *count) {
					return
				}
				req, _ := http.NewRequest("POST", endpoint, bytes.NewReader(body(*prefix, i)))
				req.Header.Set("content-type", "application/json")
				req.Header.Set("authorization", "Bearer "+*key)
				req.Header.Set("x-correlation-id", fmt.Sprintf("%s-%d", *prefix, i))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					me.errors++
					if me.firstErr == "" {
						me.firstErr = err.Error()
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				me.latencies = append(me.latencies, time.Since(t0))
				me.status[resp.StatusCode]++
			}
		}(workers[w])
	}
	wg.Wait()
	elapsed := time.Since(started).Seconds()
	out := result{Status: map[string]int{}, ElapsedS: elapsed}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.latencies...)
		out.Errors += w.errors
		if out.FirstError == "" {
			out.FirstError = w.firstErr
		}
		for code, n := range w.status {
			out.Status[fmt.Sprint(code)] += n
			if code == http.StatusAccepted {
				out.Accepted += int64(n)
			}
		}
	}
	out.Sent = int64(len(all)) + out.Errors
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	out.LatencyMs = map[string]float64{"p50": percentile(all, 0.50), "p99": percentile(all, 0.99)}
	out.AcceptedPerS = float64(out.Accepted) / elapsed
	out.CPUS = cpuSeconds() - cpu0
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
