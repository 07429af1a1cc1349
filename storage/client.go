package storage

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// defaultTimeout bounds dialing, each read and each write when the URL does
// not say otherwise: a request must fail fast rather than hang on Redis
// (client disconnects do not cancel the request's context).
const defaultTimeout = 2 * time.Second

// NewClient builds a Redis client from a URL in one of these forms:
//
//	redis://[user:password@]host[:port][/db][?option=value&...]
//	rediss://...                  one server (TLS with rediss)
//	redis+cluster://[user:password@]host1[:port1],host2[:port2],...[/][?option=value&...]
//	rediss+cluster://...          Redis Cluster; the hosts are seed nodes, the
//	                              client learns the others from them
//	redis+sentinel://[user:password@]host1[:port1],host2[:port2],.../mastername[/db][?option=value&...]
//	rediss+sentinel://...         Sentinel; the hosts are sentinels, which name
//	                              the current master of mastername
//
// Ports default to 6379, or 26379 for a sentinel. The user and password
// authenticate to the Redis servers that hold the data (for Sentinel, the
// master; sentinels that require a password of their own take
// sentinel_username and sentinel_password in the query). The options are
// go-redis's (dial_timeout, read_timeout, write_timeout, pool_size,
// max_retries, ...); dial, read and write timeouts default to 2s, and
// max_retries to -1 (no automatic resending, see noRetries; reads too: a
// dead pooled connection answers 503 once). With TLS,
// as go-redis does, every server's certificate is checked against the first
// host of the URL, also for the cluster nodes and the Sentinel master that
// are reached at the addresses they announce: managed services' certificates
// name the endpoint, not the nodes' IP addresses.
//
// Options that send reads to replicas (read_only, route_by_latency,
// route_randomly, replica_only) are refused: a replica may not have a write
// yet when the identity provider reads it back, and the read-then-CAS writes
// would then loop on stale versions.
//
// Returns an error for a URL it cannot parse; the error never quotes the
// password.
func NewClient(url string) (redis.UniversalClient, error) {
	o, err := parseURL(url)
	if err != nil {
		// A *url.Error quotes the whole URL, password included: keep only
		// what it says is wrong.
		if ue := (*neturl.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("storage: redis url: %w", err)
	}
	switch {
	case o.cluster != nil:
		return redis.NewClusterClient(o.cluster), nil
	case o.failover != nil:
		return redis.NewFailoverClient(o.failover), nil
	default:
		return redis.NewClient(o.single), nil
	}
}

// clientOptions is a parsed Redis URL; exactly one field is set.
type clientOptions struct {
	single   *redis.Options
	cluster  *redis.ClusterOptions
	failover *redis.FailoverOptions
}

// parseURL parses any form NewClient accepts and sets the default timeouts.
// Its errors may be *url.Error, which quote the URL they were given.
func parseURL(url string) (clientOptions, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return clientOptions{}, errors.New("not a URL: it starts with redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel://")
	}
	switch scheme {
	case "redis+cluster", "rediss+cluster":
		o, err := parseCluster(strings.HasPrefix(scheme, "rediss"), rest)
		if err != nil {
			return clientOptions{}, err
		}
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout)
		noRetries(&o.MaxRetries)
		return clientOptions{cluster: o}, nil
	case "redis+sentinel", "rediss+sentinel":
		o, err := parseSentinel(strings.HasPrefix(scheme, "rediss"), rest)
		if err != nil {
			return clientOptions{}, err
		}
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout)
		noRetries(&o.MaxRetries)
		return clientOptions{failover: o}, nil
	default:
		o, err := redis.ParseURL(url)
		if err != nil {
			return clientOptions{}, err
		}
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout)
		noRetries(&o.MaxRetries)
		return clientOptions{single: o}, nil
	}
}

// setTimeouts gives every timeout the URL left at zero the default. go-redis
// reads a value <= 0 in the URL as "no timeout" and stores it as -1, so an
// explicit one is kept.
func setTimeouts(ts ...*time.Duration) {
	for _, t := range ts {
		if *t == 0 {
			*t = defaultTimeout
		}
	}
}

// ReadTimeout is how long rdb, made by NewClient, waits for a reply (-1:
// forever).
func ReadTimeout(rdb redis.UniversalClient) time.Duration {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.Options().ReadTimeout
	case *redis.Client:
		return c.Options().ReadTimeout
	}
	return defaultTimeout
}

// noRetries turns go-redis's automatic retries off unless the URL sets
// max_retries to a positive number (go-redis reads 0 as its default, 3). go-redis resends a command whose connection broke after it
// was sent: a write script that had landed then runs twice (a create finds
// its own user, a member change writes its audit event twice). scimd answers
// 503 instead and the identity provider sends the whole request again,
// which the scripts' own checks make safe. (A Sentinel failover test showed
// the 500s the resent creates caused.)
func noRetries(n *int) {
	if *n == 0 {
		*n = -1
	}
}

// multiHostURL is the part after "scheme://" of a URL with a host list.
type multiHostURL struct {
	user  *neturl.Userinfo // nil when the URL has none
	addrs []string         // host:port, at least one
	path  []string         // the path's non-empty segments, decoded
	query neturl.Values
}

// parseMultiHost splits "[userinfo@]host1[:port1],host2[:port2]/path?query".
// net/url cannot parse a host list, so it is given one placeholder host and
// decodes the rest; each address is checked on its own.
func parseMultiHost(rest, defaultPort string) (multiHostURL, error) {
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	u, err := neturl.Parse("redis://" + userinfo + "placeholder" + tail)
	if err != nil {
		return multiHostURL{}, err
	}
	if u.Fragment != "" {
		return multiHostURL{}, errors.New("a fragment (#...) has no meaning here")
	}
	m := multiHostURL{user: u.User, query: u.Query()}
	for _, s := range strings.Split(u.Path, "/") {
		if s != "" {
			m.path = append(m.path, s)
		}
	}
	for _, h := range strings.Split(hosts, ",") {
		addr, err := hostPort(h, defaultPort)
		if err != nil {
			return multiHostURL{}, err
		}
		m.addrs = append(m.addrs, addr)
	}
	return m, nil
}

// hostPort checks one "host[:port]" of a host list (IPv6 in brackets) and
// adds the default port. The host list follows the last '@', so h never
// holds the password and may be quoted.
func hostPort(h, defaultPort string) (string, error) {
	if h == "" {
		return "", errors.New("empty host in the host list")
	}
	u, err := neturl.Parse("//" + h)
	if err != nil || u.Host != h || u.Hostname() == "" {
		return "", fmt.Errorf("bad host %q in the host list", h)
	}
	port := u.Port()
	if port == "" {
		port = defaultPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("bad port in host %q", h)
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// refuseOptions fails if q sets any of names; why says what to do instead.
func refuseOptions(q neturl.Values, why string, names ...string) error {
	for _, n := range names {
		if q.Has(n) {
			return fmt.Errorf("option %s is not supported: %s", n, why)
		}
	}
	return nil
}

// toReplicas is why options that read from replicas are refused.
const toReplicas = "scimd reads its own writes back, which a replica may not have yet"

// parseCluster parses the part after "redis+cluster://". The options are
// go-redis's cluster URL options: the URL is rewritten into its form (first
// seed as host, the others as addr=), without the credentials, which are set
// afterwards so that no error of the parser can quote them.
func parseCluster(useTLS bool, rest string) (*redis.ClusterOptions, error) {
	m, err := parseMultiHost(rest, "6379")
	if err != nil {
		return nil, err
	}
	if len(m.path) > 0 {
		return nil, errors.New("a cluster has only database 0: the URL takes no path")
	}
	if err := refuseOptions(m.query, toReplicas, "read_only", "route_by_latency", "route_randomly"); err != nil {
		return nil, err
	}
	q := cloneValues(m.query)
	for _, a := range m.addrs[1:] {
		q.Add("addr", a)
	}
	scheme := "redis"
	if useTLS {
		scheme = "rediss"
	}
	o, err := redis.ParseClusterURL(scheme + "://" + m.addrs[0] + "/?" + q.Encode())
	if err != nil {
		return nil, err
	}
	if m.user != nil {
		o.Username = m.user.Username()
		o.Password, _ = m.user.Password()
	}
	if o.TLSConfig != nil {
		o.TLSConfig.MinVersion = tls.VersionTLS12 // as go-redis sets for one server and Sentinel
	}
	return o, nil
}

// parseSentinel parses the part after "redis+sentinel://": sentinels, then
// /mastername[/db]. As parseCluster, it rewrites the URL into go-redis's
// failover form (master_name=, addr=) without credentials.
func parseSentinel(useTLS bool, rest string) (*redis.FailoverOptions, error) {
	m, err := parseMultiHost(rest, "26379")
	if err != nil {
		return nil, err
	}
	var master, db string
	switch len(m.path) {
	case 1:
		master = m.path[0]
	case 2:
		master, db = m.path[0], m.path[1]
	default:
		return nil, errors.New("the path must be /mastername or /mastername/db")
	}
	if err := refuseOptions(m.query, toReplicas, "replica_only", "route_by_latency", "route_randomly"); err != nil {
		return nil, err
	}
	if err := refuseOptions(m.query, "the master name is the path, the credentials the URL's user and password",
		"master_name", "username", "password", "db"); err != nil {
		return nil, err
	}
	q := cloneValues(m.query)
	sentinelUser, sentinelPassword := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	q.Set("master_name", master)
	for _, a := range m.addrs[1:] {
		q.Add("addr", a)
	}
	scheme := "redis"
	if useTLS {
		scheme = "rediss" // so that go-redis reads skip_verify
	}
	o, err := redis.ParseFailoverURL(scheme + "://" + m.addrs[0] + "/" + neturl.PathEscape(db) + "?" + q.Encode())
	if err != nil {
		return nil, err
	}
	if m.user != nil {
		o.Username = m.user.Username()
		o.Password, _ = m.user.Password()
	}
	o.SentinelUsername, o.SentinelPassword = sentinelUser, sentinelPassword
	return o, nil
}

func cloneValues(v neturl.Values) neturl.Values {
	out := make(neturl.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
