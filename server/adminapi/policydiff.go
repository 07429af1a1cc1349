package adminapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/storage"
)

// policyDiffBody is the body of POST policy-diff.
type policyDiffBody struct {
	Policies map[string]string `json:"policies"`
	Tests    map[string]string `json:"tests"`
	List     *int              `json:"list"`
	MaxUsers int               `json:"maxUsers"`
}

// policyDiff answers POST /admin/v1/tenants/{t}/policy-diff (operator):
// what the edited policies of the body would change for the tenant's users,
// as `scimd policy diff` reports it, compared with the policies this
// replica runs. It changes nothing.
func (a *API) policyDiff(c *fiber.Ctx) error {
	var in policyDiffBody
	if err := decodeStrict(c.Body(), &in); err != nil {
		return Problem(c, http.StatusBadRequest, "the body must be a JSON object with policies (file name -> content), and optionally tests, list and maxUsers: "+err.Error())
	}
	req := rollout.Preview{Policies: in.Policies, Tests: in.Tests, List: 20, MaxUsers: in.MaxUsers}
	if in.List != nil {
		req.List = *in.List
	}
	tenant := param(c, "tenant")
	ctx, cancel := a.ctx()
	err := a.svc.TenantExists(ctx, tenant)
	cancel()
	if err != nil {
		return a.fail(c, err)
	}
	rep, err := a.opts.PolicyDiff.Diff(context.Background(), tenant, req)
	if err == nil {
		return c.JSON(rep)
	}
	switch {
	case errors.Is(err, rollout.ErrInvalid), errors.Is(err, rollout.ErrTooManyUsers):
		return Problem(c, http.StatusBadRequest, detailOf(err))
	case errors.Is(err, rollout.ErrTooLarge):
		return Problem(c, http.StatusRequestEntityTooLarge, detailOf(err))
	case errors.Is(err, rollout.ErrBusy):
		c.Set(fiber.HeaderRetryAfter, "10")
		return Problem(c, http.StatusTooManyRequests, "another policy diff is running on this replica; try again shortly")
	case errors.Is(err, policies.ErrInvalidPolicy), errors.Is(err, policies.ErrTestsFailed):
		return policyProblem(c, err)
	case errors.Is(err, context.DeadlineExceeded):
		return Problem(c, http.StatusServiceUnavailable, "the policy diff ran out of its time budget ("+a.opts.PolicyDiff.Options().Timeout.String()+"); lower maxUsers or simplify the policies")
	case errors.Is(err, storage.ErrUnavailable):
		c.Set(fiber.HeaderRetryAfter, "5")
		return Problem(c, http.StatusServiceUnavailable, "the store is unavailable; try again shortly")
	}
	slog.Error("internal error", "request_id", c.Locals("requestid"), "err", err)
	return Problem(c, http.StatusInternalServerError, "internal error")
}

// policyProblem answers 422 for policies that do not compile or fail their
// tests: the problem names the file, and lists each positioned error.
func policyProblem(c *fiber.Ctx, err error) error {
	problems := policies.Problems(err)
	if problems == nil {
		problems = []policies.Problem{}
	}
	status := http.StatusUnprocessableEntity
	c.Status(status)
	return c.JSON(fiber.Map{"type": "about:blank", "title": http.StatusText(status), "status": status,
		"detail": detailOf(err), "errors": problems}, "application/problem+json")
}

// detailOf is an error of the operator's own request, shown whole: it
// quotes only what the request sent, bounded.
func detailOf(err error) string {
	d := err.Error()
	if len(d) > 4000 {
		d = d[:4000] + "… (" + strconv.Itoa(len(d)) + " bytes)"
	}
	return d
}
