package storage

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// clientSummary is what a test checks of parsed client options.
type clientSummary struct {
	Kind                               string // "single", "cluster" or "sentinel"
	Addrs                              []string
	Master                             string
	DB                                 int
	Username, Password                 string
	SentinelUsername, SentinelPassword string
	TLS                                bool
	TLSServerName                      string
	Dial, Read, Write                  time.Duration
	PoolSize                           int
	Retries                            int // go-redis MaxRetries; -1 is none
}

func summarize(o clientOptions) clientSummary {
	switch {
	case o.cluster != nil:
		c := o.cluster
		return clientSummary{Kind: "cluster", Addrs: c.Addrs, Username: c.Username, Password: c.Password,
			TLS: c.TLSConfig != nil, TLSServerName: serverName(c.TLSConfig),
			Dial: c.DialTimeout, Read: c.ReadTimeout, Write: c.WriteTimeout, PoolSize: c.PoolSize, Retries: c.MaxRetries}
	case o.failover != nil:
		f := o.failover
		return clientSummary{Kind: "sentinel", Addrs: f.SentinelAddrs, Master: f.MasterName, DB: f.DB,
			Username: f.Username, Password: f.Password,
			SentinelUsername: f.SentinelUsername, SentinelPassword: f.SentinelPassword,
			TLS: f.TLSConfig != nil, TLSServerName: serverName(f.TLSConfig),
			Dial: f.DialTimeout, Read: f.ReadTimeout, Write: f.WriteTimeout, PoolSize: f.PoolSize, Retries: f.MaxRetries}
	default:
		s := o.single
		return clientSummary{Kind: "single", Addrs: []string{s.Addr}, DB: s.DB, Username: s.Username, Password: s.Password,
			TLS: s.TLSConfig != nil, TLSServerName: serverName(s.TLSConfig),
			Dial: s.DialTimeout, Read: s.ReadTimeout, Write: s.WriteTimeout, PoolSize: s.PoolSize, Retries: s.MaxRetries}
	}
}

func serverName(c *tls.Config) string {
	if c == nil {
		return ""
	}
	return c.ServerName
}

func TestParseURL(t *testing.T) {
	const d = defaultTimeout
	tests := []struct {
		name string
		url  string
		want clientSummary
	}{
		{"single defaults", "redis://127.0.0.1:6379/0",
			clientSummary{Kind: "single", Addrs: []string{"127.0.0.1:6379"}, Dial: d, Read: d, Write: d}},
		{"single timeouts and tls", "rediss://u:p@h:6380/1?dial_timeout=1s&read_timeout=3s&write_timeout=4s",
			clientSummary{Kind: "single", Addrs: []string{"h:6380"}, DB: 1, Username: "u", Password: "p",
				TLS: true, TLSServerName: "h", Dial: time.Second, Read: 3 * time.Second, Write: 4 * time.Second}},
		{"single timeout disabled", "redis://h?read_timeout=0",
			clientSummary{Kind: "single", Addrs: []string{"h:6379"}, Dial: d, Read: -1, Write: d}},

		{"cluster", "redis+cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103",
			clientSummary{Kind: "cluster", Addrs: []string{"127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"}, Dial: d, Read: d, Write: d}},
		{"cluster one seed, slash, default port", "redis+cluster://node-a/",
			clientSummary{Kind: "cluster", Addrs: []string{"node-a:6379"}, Dial: d, Read: d, Write: d}},
		{"cluster credentials and options", "redis+cluster://app:s%40cret@a:1,b:2/?pool_size=7&read_timeout=5s",
			clientSummary{Kind: "cluster", Addrs: []string{"a:1", "b:2"}, Username: "app", Password: "s@cret",
				Dial: d, Read: 5 * time.Second, Write: d, PoolSize: 7}},
		{"cluster password only", "redis+cluster://:pw@a:1",
			clientSummary{Kind: "cluster", Addrs: []string{"a:1"}, Password: "pw", Dial: d, Read: d, Write: d}},
		{"cluster tls, ipv6", "rediss+cluster://[::1]:7000,[fe80::1]",
			clientSummary{Kind: "cluster", Addrs: []string{"[::1]:7000", "[fe80::1]:6379"}, TLS: true, TLSServerName: "::1", Dial: d, Read: d, Write: d}},
		{"cluster tls names the first seed", "rediss+cluster://cache.example.net:6380,10.0.0.2:6380",
			clientSummary{Kind: "cluster", Addrs: []string{"cache.example.net:6380", "10.0.0.2:6380"}, TLS: true, TLSServerName: "cache.example.net",
				Dial: d, Read: d, Write: d}},

		{"sentinel", "redis+sentinel://s1:26379,s2:26380,s3/mymaster",
			clientSummary{Kind: "sentinel", Addrs: []string{"s1:26379", "s2:26380", "s3:26379"}, Master: "mymaster", Dial: d, Read: d, Write: d}},
		{"sentinel db and credentials", "redis+sentinel://app:pw@s1/mymaster/3?dial_timeout=500ms",
			clientSummary{Kind: "sentinel", Addrs: []string{"s1:26379"}, Master: "mymaster", DB: 3, Username: "app", Password: "pw",
				Dial: 500 * time.Millisecond, Read: d, Write: d}},
		{"sentinel with its own password", "redis+sentinel://:pw@s1,s2/m/?sentinel_password=spw&sentinel_username=sen",
			clientSummary{Kind: "sentinel", Addrs: []string{"s1:26379", "s2:26379"}, Master: "m", Password: "pw",
				SentinelUsername: "sen", SentinelPassword: "spw", Dial: d, Read: d, Write: d}},
		{"sentinel tls", "rediss+sentinel://s1:26379/m/0",
			clientSummary{Kind: "sentinel", Addrs: []string{"s1:26379"}, Master: "m", TLS: true, TLSServerName: "s1", Dial: d, Read: d, Write: d}},

		// No automatic resending unless the URL asks for it (see noRetries).
		{"single retries asked", "redis://h?max_retries=2",
			clientSummary{Kind: "single", Addrs: []string{"h:6379"}, Dial: d, Read: d, Write: d, Retries: 2}},
		{"cluster retries asked", "redis+cluster://a:1?max_retries=2",
			clientSummary{Kind: "cluster", Addrs: []string{"a:1"}, Dial: d, Read: d, Write: d, Retries: 2}},
		{"sentinel retries asked", "redis+sentinel://s1/m?max_retries=2",
			clientSummary{Kind: "sentinel", Addrs: []string{"s1:26379"}, Master: "m", Dial: d, Read: d, Write: d, Retries: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseURL(tt.url)
			must(t, err)
			if tt.want.Retries == 0 {
				tt.want.Retries = -1 // the default
			}
			if d := cmp.Diff(tt.want, summarize(o)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct{ name, url string }{
		{"no scheme", "127.0.0.1:6379"},
		{"bad scheme", "http://h"},
		{"bad option", "redis://h?bogus=1"},
		{"cluster bad option", "redis+cluster://a:1?bogus=1"},
		{"cluster bad duration", "redis+cluster://a:1?dial_timeout=soon"},
		{"cluster empty host", "redis+cluster://a:1,,b:2"},
		{"cluster no host", "redis+cluster:///"},
		{"cluster bad port", "redis+cluster://a:1,b:x"},
		{"cluster port out of range", "redis+cluster://a:70000"},
		{"cluster database", "redis+cluster://a:1/2"},
		{"cluster reads from replicas", "redis+cluster://a:1?read_only=true"},
		{"cluster routes by latency", "redis+cluster://a:1?route_by_latency=true"},
		{"cluster fragment", "redis+cluster://a:1/#x"},
		{"sentinel no master", "redis+sentinel://s1:26379"},
		{"sentinel empty master", "redis+sentinel://s1:26379/"},
		{"sentinel too deep", "redis+sentinel://s1/m/0/x"},
		{"sentinel bad db", "redis+sentinel://s1/m/zero"},
		{"sentinel master twice", "redis+sentinel://s1/m?master_name=n"},
		{"sentinel password in query", "redis+sentinel://s1/m?password=p"},
		{"sentinel replica only", "redis+sentinel://s1/m?replica_only=1"},
		{"sentinel route randomly", "redis+sentinel://s1/m?route_randomly=true"},
		{"sentinel bad option", "redis+sentinel://s1/m?bogus=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewClient(tt.url); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// The URL's password must not reach a log through NewClient's error,
// whichever part of the URL is wrong.
func TestNewClientErrorHidesPassword(t *testing.T) {
	for _, url := range []string{
		"redis://user:s3cret@host:notaport/0",
		"rediss://user:s3cret@host/0?bogus=1",
		"redis+cluster://user:s3cret@a:1,b:x",
		"redis+cluster://user:s3cret@a:1/?dial_timeout=soon",
		"redis+cluster://user:s3cret@a:1/?bogus=1",
		"redis+cluster://user:s3cret@a:1/0",
		"redis+cluster://us%zzer:s3cret@a:1",
		"rediss+cluster://user:s3cret@/",
		"redis+sentinel://user:s3cret@s1/m/x",
		"redis+sentinel://user:s3cret@s1/m?bogus=1",
		"redis+sentinel://user:pw@s1/m?sentinel_password=s3cret&bogus=1",
		"redis+sentinel://user:pw@s1/m?sentinel_password=s3cret&read_timeout=x",
		"redis+sentinel://user:s3cret@s1",
		"rediss+sentinel://user:s3cret@s1:x/m",
	} {
		t.Run(url, func(t *testing.T) {
			_, err := NewClient(url)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// NewClient builds the client the form names; none of them dials yet.
func TestNewClientKinds(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"redis://127.0.0.1:1/0", "*redis.Client"},
		{"redis+cluster://127.0.0.1:1,127.0.0.1:2", "*redis.ClusterClient"},
		{"redis+sentinel://127.0.0.1:1/mymaster", "*redis.Client"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			rdb, err := NewClient(tt.url)
			must(t, err)
			t.Cleanup(func() {
				if err := rdb.Close(); err != nil {
					t.Error(err)
				}
			})
			var got string
			switch rdb.(type) {
			case *redis.Client:
				got = "*redis.Client"
			case *redis.ClusterClient:
				got = "*redis.ClusterClient"
			default:
				got = fmt.Sprintf("%T", rdb)
			}
			if got != tt.want {
				t.Errorf("client is %s, want %s", got, tt.want)
			}
		})
	}
}
