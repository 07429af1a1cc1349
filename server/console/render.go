package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// view is what the layout draws around a page: the session (nil on the
// sign-in and error pages), the navigation and the page's own data.
type view struct {
	Title   string
	Session *provision.ConsoleSession
	Nav     []NavItem
	Active  string
	Root    string
	Data    any
}

// parsePages parses the layout and partials with each page of
// templates/pages, one template set per page: each page defines "title"
// and "content" (and any fragments htmx asks for).
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"asset": assetURL,
		"when":  when,
		"ago":   ago,
		"path":  func(p string) string { return Root + p },
		"add":   func(a, b int) int { return a + b },
		"sub":   func(a, b int) int { return a - b },
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html"))
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
		pages[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	return pages
}

// render draws a page in the layout.
func (cs *Console) render(c *fiber.Ctx, status int, page string, data any) error {
	return cs.execute(c, status, page, "layout", view{Session: sessionOf(c), Nav: Nav, Active: c.Route().Path, Root: Root, Data: data})
}

// fragment draws one named template of a page, without the layout: the
// part of the page an htmx request replaces.
func (cs *Console) fragment(c *fiber.Ctx, status int, page, name string, data any) error {
	return cs.execute(c, status, page, name, view{Session: sessionOf(c), Nav: Nav, Root: Root, Data: data})
}

func (cs *Console) execute(c *fiber.Ctx, status int, page, name string, v view) error {
	t, ok := cs.pages[page]
	if !ok {
		return fmt.Errorf("console: no page %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		slog.Error("console: rendering", "page", page, "err", err)
		return c.Status(http.StatusInternalServerError).SendString("internal error")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

type errorView struct {
	Status  int
	Title   string
	Message string
}

// errorPage shows a message with its status; sess nil draws it without
// the navigation. An htmx request gets the message alone, to show in place.
func (cs *Console) errorPage(c *fiber.Ctx, sess *provision.ConsoleSession, status int, message string) error {
	v := errorView{Status: status, Title: http.StatusText(status), Message: message}
	if c.Get("HX-Request") != "" {
		return cs.execute(c, status, "error", "message", view{Data: v})
	}
	return cs.execute(c, status, "error", "layout", view{Session: sess, Nav: Nav, Root: Root, Data: v})
}

// when formats a time for a page, in UTC (the audit log's zone).
func when(t any) string {
	switch t := t.(type) {
	case time.Time:
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	case *time.Time:
		if t == nil || t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return ""
}

// ago says how long ago t was, roughly.
func ago(t any) string {
	var tt time.Time
	switch t := t.(type) {
	case time.Time:
		tt = t
	case *time.Time:
		if t != nil {
			tt = *t
		}
	}
	if tt.IsZero() {
		return "never"
	}
	d := time.Since(tt)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
