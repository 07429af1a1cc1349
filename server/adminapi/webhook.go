package adminapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/storage"
)

// A tenant's webhook is the operator's to set: a URL a tenant could set
// would let it make scimd call services only scimd's network reaches.

type webhookBody struct {
	URL string `json:"url"`
}

type webhookJSON struct {
	URL         string           `json:"url"`
	Secret      string           `json:"secret,omitempty"`
	Created     time.Time        `json:"created"`
	Cursor      string           `json:"cursor"`
	Deliverer   string           `json:"deliverer,omitempty"`
	LastAttempt *time.Time       `json:"lastAttempt,omitempty"`
	LastSuccess *time.Time       `json:"lastSuccess,omitempty"`
	LastStatus  int              `json:"lastStatus,omitempty"`
	LastError   string           `json:"lastError,omitempty"`
	Failures    int64            `json:"failures"`
	Delivered   int64            `json:"delivered"`
	DeadLetters int64            `json:"deadLetters"`
	RecentDead  []deadLetterJSON `json:"recentDeadLetters"`
}

type deadLetterJSON struct {
	At       time.Time `json:"at"`
	First    string    `json:"first"`
	Last     string    `json:"last"`
	Count    int       `json:"count"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func webhookView(h storage.Webhook) webhookJSON {
	out := webhookJSON{URL: h.URL, Created: h.Created.UTC(), Cursor: h.Cursor, Deliverer: h.Deliverer, LastAttempt: timePtr(h.LastAttempt), LastSuccess: timePtr(h.LastSuccess),
		LastStatus: h.LastStatus, LastError: h.LastError, Failures: h.Failures, Delivered: h.Delivered, DeadLetters: h.DeadLetters, RecentDead: []deadLetterJSON{}}
	for _, d := range h.RecentDead {
		out.RecentDead = append(out.RecentDead, deadLetterJSON{At: d.At, First: d.First, Last: d.Last, Count: d.Count, Attempts: d.Attempts, Error: d.Error})
	}
	return out
}

func (a *API) putWebhook(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	tenant := param(c, "tenant")
	// A tenant that is not there is a 404 whatever the body says.
	if err := a.svc.TenantExists(ctx, tenant); err != nil {
		return a.fail(c, err)
	}
	var in webhookBody
	if err := decodeStrict(c.Body(), &in); err != nil {
		return Problem(c, http.StatusBadRequest, "the body must be a JSON object with url: "+err.Error())
	}
	secret, err := a.opts.Webhooks.Put(ctx, tenant, in.URL)
	if err != nil {
		return a.fail(c, err)
	}
	h, err := a.opts.Webhooks.Get(ctx, tenant)
	if err != nil {
		return a.fail(c, err)
	}
	out := webhookView(h)
	out.Secret = secret
	c.Set(fiber.HeaderCacheControl, "no-store") // the secret is shown once
	return c.JSON(out)
}

func (a *API) getWebhook(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	h, err := a.opts.Webhooks.Get(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(webhookView(h))
}

func (a *API) deleteWebhook(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	if err := a.opts.Webhooks.Delete(ctx, param(c, "tenant")); err != nil {
		return a.fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}
