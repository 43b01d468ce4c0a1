package ui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// BenchmarkRunsPage renders the runs page (the first page, a later page,
// and a page filtered by deployment and state that every run matches)
// with 100,000 runs in the store, served in-process: server time only;
// and the dashboard, whose window then holds every run (it reads the
// newest 5,000).
// The target is under 50 ms. Seeding takes about a minute, so each page
// is measured five times (first#01..#05) in one seeding rather than with
// -count.
func BenchmarkRunsPage(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	const total, batch = 100_000, 5_000
	start := time.Now().Add(-total * time.Minute)
	for i := 0; i < total; i += batch {
		specs := make([]store.RunSpec, batch)
		for j := range specs {
			at := start.Add(time.Duration(i+j) * time.Minute)
			specs[j] = store.RunSpec{Deployment: "vlan-prod", State: flow.Scheduled(at), Tags: []string{"site-a"}}
		}
		if _, err := e.st.CreateScheduledRuns(ctx, specs); err != nil {
			b.Fatal(err)
		}
	}
	br := e.browser()
	br.signin(viewerKey)
	cookies := br.c.Jar.Cookies(mustURL(b, e.srv.URL+"/ui/"))
	_, body := br.get("/ui/runs")
	next := nextLink.FindStringSubmatch(body)
	if next == nil {
		b.Fatal("no next page link")
	}
	pages := []struct{ name, path string }{
		{"first", "/ui/runs"},
		{"next", htmlUnescape(next[1])},
	}
	pages = append(pages, pages...)
	pages = append(pages, pages...)
	pages = append(pages, pages[0], pages[1],
		struct{ name, path string }{"dashboard", "/ui/"},
		struct{ name, path string }{"state-all-match", "/ui/runs?state=SCHEDULED&deployment=vlan-prod"})
	for _, page := range pages {
		b.Run(page.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", page.path, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				e.api.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", page.path, rec.Code)
				}
			}
		})
	}
}

func mustURL(b *testing.B, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		b.Fatal(err)
	}
	return u
}
