package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserLabelsAndWidths: on every page of this test's lanes, each
// control has a label, the first Tab lands on "Skip to content", and the
// page fits a phone-width window (375 px) and 1280 px without scrolling
// sideways (wide tables scroll in their own box).
func TestBrowserLabelsAndWidths(t *testing.T) {
	e := newEnv(t, nil)
	ada, _ := e.directory()
	ctx := e.tab()
	e.signIn(ctx, e.tenant, e.token)
	pages := append([]string{"/console/users/" + ada}, consolePages...)
	for _, width := range []int64{1280, 375} {
		e.do(ctx, chromedp.EmulateViewport(width, 800))
		for _, p := range pages {
			e.do(ctx, chromedp.Navigate(e.base+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
			unlabelled := eval[[]string](e, ctx, `[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")).map(el => el.outerHTML)`)
			if len(unlabelled) > 0 {
				t.Errorf("%s: controls without a label: %q", p, unlabelled)
			}
			if over := eval[int](e, ctx, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
				t.Errorf("%s at %d px: %d px wider than the window", p, width, over)
			}
			e.do(ctx, chromedp.KeyEvent("\t"))
			if cls := eval[string](e, ctx, `document.activeElement.className`); cls != "skip" {
				t.Errorf("%s: the first Tab lands on %q, want the skip link", p, cls)
			}
		}
	}
	e.noViolations(ctx)
}
