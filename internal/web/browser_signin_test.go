package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tend/internal/apptest"
)

// A person signs in with the keyboard alone, at a phone's width.
func TestBrowserSignInWithTheKeyboard(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	ctx := browser(t, 375, 800)
	err := chromedp.Do(ctx,
		chromedp.Navigate(app.HTTP.URL+"/signin"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		shot(t, "signin-375"),
		chromedp.Focus(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "agent@vendor.example"),
		chromedp.KeyEvent("\t"),
	)
	if err != nil {
		t.Fatal(err)
	}
	active, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil {
		t.Fatal(err)
	}
	if active != "password" {
		t.Errorf("Tab from the login went to %q, not the password", active)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#password"), "demo\r")); err != nil {
		t.Fatal(err)
	}
	waitPath(t, ctx, "/desk")
	if heading := text(t, ctx, "main h1"); strings.TrimSpace(heading) == "" || strings.Contains(heading, "Вход") || strings.Contains(heading, "Sign in") {
		t.Errorf("after signing in the page says %q", heading)
	}
}

// waitPath waits until the browser has arrived at path and the page is
// ready: reading the page before that would read the page being left.
func waitPath(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? location.pathname : ""`))
		if err == nil && got == path {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser did not reach %s (at %q, %v)", path, got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
