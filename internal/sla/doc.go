// Package sla holds the Russian production calendar and the working-time
// arithmetic that SLA clocks run on (requirements R4.1–R4.4).
//
// Support plans promise answers "within N working hours", and working hours
// in Russia follow the production calendar: public holidays (Labour Code
// art. 112), days off moved by government decree, working Saturdays and
// one-hour-shorter pre-holiday days. A deadline computed by plain weekday
// arithmetic is wrong several times a year, so every due date in tend is
// computed here.
//
// The package is pure: it reads only its embedded calendar files, never the
// clock. Callers pass "now" in, which keeps SLA decisions reproducible in
// tests, in replays of the journal and in reports about the past.
//
// Three layers:
//
//   - Calendar: what kind each day is (working, short, weekend, holiday),
//     shipped for 2019–2027 and replaceable year by year when a new decree
//     appears (ParseXML, ParseJSON, Calendar.With).
//   - Schedule: working time inside a daily window in a time zone
//     (Between, Due, NextWorking, IsWorking), answered from cached per-year
//     prefix sums so an SLA list page can evaluate thousands of clocks.
//   - Clock: an SLA clock with pauses and agreed deadlines, evaluated
//     against a Schedule at a given instant (Schedule.Evaluate).
package sla
