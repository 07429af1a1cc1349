package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// reportProgress prints the running phase's progress to w every interval
// (jobs done, the request rate since the last line, errors) until the
// returned stop is called.
func (r *runner) reportProgress(w io.Writer, every time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		var last *Phase
		var lastRequests int64
		var lastAt time.Time
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				p := r.current.Load()
				if p == nil {
					continue
				}
				if p != last {
					last, lastRequests, lastAt = p, 0, p.started()
				}
				requests := p.requests.Load()
				rate := 0.0
				if elapsed := now.Sub(lastAt); elapsed > 0 {
					rate = float64(requests-lastRequests) / elapsed.Seconds()
				}
				lastRequests, lastAt = requests, now
				fmt.Fprintf(w, "scimload: %-18s %7d/%-7d jobs %7.0f req/s %5d errors\n",
					p.Name, p.done.Load(), p.Total, rate, p.errors.Load())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
