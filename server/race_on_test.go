//go:build race

package server_test

// raceDetector: this test binary runs under -race, where sync.Pool drops
// items at random, so allocation counts are neither stable nor the
// program's own.
const raceDetector = true
