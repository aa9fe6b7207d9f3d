package sla

import (
	"sync"
	"time"
)

var zones sync.Map // name → *time.Location

// Zone returns the location of an IANA zone name, one shared value per
// name. The working-time tables are cached per *time.Location, and
// time.LoadLocation returns a fresh one on every call: a plan's zone
// loaded per request built a year's table per request and filled the
// cache with copies (issue 7). Europe/Moscow is Moscow().
func Zone(name string) (*time.Location, error) {
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location), nil
	}
	var loc *time.Location
	if name == "Europe/Moscow" {
		loc = Moscow()
	} else {
		var err error
		if loc, err = time.LoadLocation(name); err != nil {
			return nil, err
		}
	}
	v, _ := zones.LoadOrStore(name, loc)
	return v.(*time.Location), nil
}
