package sla

import "testing"

// One Location per zone name, so the working-time tables cached per
// Location are found again (a fresh one per call built a table per call).
func TestZoneIsSharedPerName(t *testing.T) {
	a, err := Zone("Asia/Yekaterinburg")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Zone("Asia/Yekaterinburg")
	if a != b {
		t.Error("two Locations for one zone")
	}
	if m, _ := Zone("Europe/Moscow"); m != Moscow() {
		t.Error("Europe/Moscow is not Moscow()")
	}
	if _, err := Zone("Mars/Olympus_Mons"); err == nil {
		t.Error("an unknown zone was accepted")
	}
}
