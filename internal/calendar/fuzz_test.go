package calendar_test

import (
	"os"
	"path/filepath"
	"testing"

	"tend/internal/apperr"
	"tend/internal/calendar"
)

// FuzzParse: whatever arrives as a calendar file, Parse answers years that
// validate or an error about field "file"; it never panics.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && filepath.Ext(name) != ".md" {
			f.Add(b, filepath.Base(name))
		}
	}
	f.Add([]byte(`[[{"date":"2027-01-01","kind":"holiday"}],[]]`), "application/json")
	f.Add([]byte("\xef\xbb\xbf<calendar/>"), "text/xml")
	f.Fuzz(func(t *testing.T, data []byte, hint string) {
		years, err := calendar.Parse(data, hint)
		if err != nil {
			if e := apperr.As(err); e.Field != "file" || (e.Code != apperr.Invalid && e.Code != apperr.TooLarge) {
				t.Fatalf("error %v is not about the file", err)
			}
			return
		}
		if len(years) == 0 {
			t.Fatal("no error and no year")
		}
		for _, y := range years {
			if err := y.Validate(); err != nil {
				t.Fatalf("answered a year that does not validate: %v", err)
			}
		}
	})
}
