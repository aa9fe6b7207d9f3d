package demo

import (
	"fmt"
	"time"

	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/sla"
	"tend/internal/store"
)

// people are the demo accounts as principals, by login.
type people map[string]auth.Principal

func (l *loader) people() people {
	out := people{}
	for _, d := range Logins {
		a, err := l.st.AccountByLogin(l.ctx, d.Login)
		l.fail("find "+d.Login, err)
		out[d.Login] = a.Principal()
	}
	return out
}

// step is one workflow action by one person.
type step struct {
	who    string
	action desk.Action
	needs  desk.Needs
}

// loadRequests puts requests of every type and in every state on the desk
// for alfa and beta (and one for gamma, whose license lapsed), so that a
// newcomer sees the desk at work at once.
func (l *loader) loadRequests(now time.Time, instances map[string]int64, products map[string]int64) {
	if l.err != nil {
		return
	}
	ppl := l.people()
	soon := func(days int) time.Time { return now.Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Hour) }
	agent, dev, release := "agent@vendor.example", "dev@vendor.example", "release@vendor.example"
	alfaAdmin, alfaOp, betaAdmin, betaOp := "admin@alfa.example", "operator@alfa.example", "admin@beta.example", "operator@beta.example"
	agreeNormal := []step{
		{agent, desk.ActionDefineScope, desk.Needs{Scope: "Find the cause, fix it in the next patch release and deploy it to the production instance."}},
		{agent, desk.ActionPropose, desk.Needs{Scope: "Fix and deploy the patch.", EffortHours: 16, Deadline: soon(10)}},
		{alfaAdmin, desk.ActionAcceptProposal, desk.Needs{Text: "Agreed."}},
	}
	agreeEmergency := []step{
		{agent, desk.ActionPropose, desk.Needs{Deadline: soon(1), Text: "We will ship a hotfix within a day."}},
		{alfaAdmin, desk.ActionAcceptProposal, desk.Needs{Text: "Please hurry."}},
	}
	then := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	hq := instances["Alfa HQ production"]
	platform, portal := products["secplat"], products["portal"]
	cases := []struct {
		who   string
		in    desk.NewRequest
		steps []step
	}{
		{alfaOp, desk.NewRequest{ProductID: platform, InstanceID: hq, Type: "fault", Priority: "emergency", Subject: "Turnstiles at gate 3 do not open",
			Description: "Since 08:40 none of the turnstiles at gate 3 open for any badge. Staff are let in by hand.",
			Steps:       "1. Present any valid badge at gate 3.\n2. Watch the turnstile.", Expected: "The turnstile opens.", Actual: "The reader beeps green, the turnstile stays locked."}, nil},
		{alfaOp, desk.NewRequest{ProductID: platform, Type: "consultation", Subject: "Как выгрузить табель учёта рабочего времени в 1С?",
			Description: "Нужно ежемесячно выгружать табель в 1С:ЗУП. Какой формат поддерживается?"},
			[]step{{agent, desk.ActionAskClarification, desk.Needs{Text: "Which 1C:ZUP version do you run, 3.1 or later?"}}}},
		{alfaAdmin, desk.NewRequest{ProductID: platform, Type: "improvement", Subject: "Show the badge photo in the visitor log",
			Description: "Guards want to see the photo next to each passage in the visitor log."},
			[]step{
				{agent, desk.ActionDefineScope, desk.Needs{Scope: "Add a photo column to the visitor log and its export."}},
				{agent, desk.ActionPropose, desk.Needs{Scope: "Photo column in the log and the export.", EffortHours: 24, Deadline: soon(30)}},
			}},
		{alfaAdmin, desk.NewRequest{ProductID: platform, InstanceID: hq, Type: "fault", Priority: "emergency", Subject: "Fire panel events are not delivered",
			Description: "Alarms from the fire panel in building B do not reach the operator console.", Steps: "Trigger a test alarm on panel B-2.", Expected: "An alarm on the console.", Actual: "Nothing on the console; the panel shows the event."},
			agreeEmergency},
		{alfaOp, desk.NewRequest{ProductID: platform, Type: "fault", Subject: "Report times shifted by one hour",
			Description: "Time-attendance reports show every passage one hour late since the server moved.", Steps: "Open the daily report for yesterday.", Expected: "Entry at 08:55.", Actual: "Entry at 09:55."},
			then(agreeNormal, []step{{dev, desk.ActionStartWork, desk.Needs{}}})},
		{alfaAdmin, desk.NewRequest{ProductID: platform, InstanceID: hq, Type: "fault", Subject: "Gateway service restarts every night",
			Description: "The gateway container restarts at 03:00 each night; access events are lost for two minutes.", Steps: "docker ps at 03:05", Expected: "Uptime of days.", Actual: "Up 5 minutes."},
			then(agreeNormal, []step{{dev, desk.ActionStartWork, desk.Needs{}}, {dev, desk.ActionDeploy, desk.Needs{InstanceID: hq, Text: "Patch 4.2.2 deployed."}}})},
		{alfaAdmin, desk.NewRequest{ProductID: platform, InstanceID: hq, Type: "fault", Priority: "emergency", Subject: "Access controller crashes after the update",
			Description: "After 4.2.1 the access controller service crashes when a door is held open.", Steps: "Hold door 12 open for 30 s.", Expected: "A door-held alarm.", Actual: "The service crashes and restarts."},
			then(agreeEmergency, []step{
				{dev, desk.ActionStartWork, desk.Needs{}},
				{dev, desk.ActionDeploy, desk.Needs{InstanceID: hq, Text: "Hotfix 4.2.1-hf1 deployed to production."}},
				{release, desk.ActionRollOut, desk.Needs{ReleaseID: 1, InstanceIDs: []int64{instances["Alfa test bench"], instances["Beta warehouse"]}, Text: "Hotfix rolled out to the other instances of 4.2."}},
			})},
		{alfaOp, desk.NewRequest{ProductID: platform, Type: "consultation", Subject: "How do I set up LDAP synchronisation?",
			Description: "We want employees to come from our Active Directory."},
			[]step{{agent, desk.ActionAnswer, desk.Needs{Text: "Settings → Directory → LDAP: give the server, the base DN and a read-only account; the sync runs hourly."}}}},
		{alfaOp, desk.NewRequest{ProductID: portal, Type: "consultation", Subject: "Where does the portal keep meter reading history?",
			Description: "Subscribers ask how far back they can see their readings."},
			[]step{
				{agent, desk.ActionAnswer, desk.Needs{Text: "Readings are kept for 36 months and shown under History."}},
				{alfaOp, desk.ActionConfirm, desk.Needs{}},
			}},
		{betaAdmin, desk.NewRequest{ProductID: platform, Type: "consultation", Subject: "Backup schedule for the database",
			Description: "What backup schedule do you recommend for the platform database?"},
			[]step{
				{agent, desk.ActionAskClarification, desk.Needs{Text: "How many events a day does the warehouse produce?"}},
				{agent, desk.ActionCloseUnanswered, desk.Needs{Text: "Closed: no answer for 14 days. Reopen the request to continue."}},
			}},
		{betaOp, desk.NewRequest{ProductID: platform, Type: "fault", Subject: "Duplicate passage events at the loading dock",
			Description: "Each passage at dock 4 appears twice in the log.", Steps: "Pass dock 4 once.", Expected: "One event.", Actual: "Two events, 1 s apart."}, nil},
		{betaAdmin, desk.NewRequest{ProductID: platform, Type: "improvement", Subject: "Export passages to SAP",
			Description: "We would like a nightly export of passages to SAP HCM."}, nil},
		{betaAdmin, desk.NewRequest{ProductID: platform, Type: "fault", Subject: "Test request, please ignore",
			Description: "Testing the portal."},
			[]step{{betaAdmin, desk.ActionCancel, desk.Needs{Text: "Sent by mistake."}}}},
		{"admin@gamma.example", desk.NewRequest{ProductID: platform, Type: "fault", Subject: "Camera server offline",
			Description: "The video server does not answer since the weekend."}, nil},
	}
	for i, c := range cases {
		p := ppl[c.who]
		in := c.in
		in.Channel = desk.ChannelPortal
		r, _, err := l.st.RegisterRequest(l.ctx, p, in, "", sla.Default())
		l.fail(fmt.Sprintf("request %d", i+1), err)
		if err != nil {
			return
		}
		for _, s := range c.steps {
			_, err := l.st.Act(l.ctx, ppl[s.who], r.ID, store.ActInput{Action: s.action, Needs: s.needs}, "")
			l.fail(fmt.Sprintf("request %d: %s", i+1, s.action), err)
			if err != nil {
				return
			}
		}
	}
	// A phone call logged by the agent on behalf of beta's operator.
	betaOpAccount, err := l.st.AccountByLogin(l.ctx, betaOp)
	l.fail("find beta operator", err)
	_, _, err = l.st.RegisterRequest(l.ctx, ppl[agent], desk.NewRequest{CustomerID: betaOpAccount.CustomerID, RequesterID: betaOpAccount.ID, Channel: desk.ChannelPhone,
		ProductID: platform, Type: "consultation", Subject: "Phone: how to add a new badge reader",
		Description: "Called at 10:15 asking how to register a new reader at the north entrance."}, "", sla.Default())
	l.fail("phone request", err)
	// A comment from the customer and an internal note on the first request.
	var rate int64
	list, err := l.st.ListRequests(l.ctx, ppl[agent], store.RequestFilter{Limit: 200})
	l.fail("list requests", err)
	for _, r := range list.Items {
		switch r.Subject {
		case "Turnstiles at gate 3 do not open":
			_, err := l.st.AddComment(l.ctx, ppl[alfaOp], r.ID, "Gate 3 is the main entrance; 400 people pass in the morning.", false, "")
			l.fail("comment", err)
			_, err = l.st.AddComment(l.ctx, ppl[agent], r.ID, "Probably the controller firmware again; see the crash request.", true, "")
			l.fail("internal note", err)
		case "Where does the portal keep meter reading history?":
			rate = r.ID
		}
	}
	if rate != 0 {
		_, err := l.st.Rate(l.ctx, ppl[alfaOp], rate, 5, "Quick and clear, thank you.")
		l.fail("rating", err)
	}
}
