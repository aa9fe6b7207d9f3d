package api_test

import "fmt"

func init() { accessCaseSets = append(accessCaseSets, attachmentAccessCases) }

// attachmentAccessCases: alfa's people upload to a request of beta's and
// download a file they may not see. The walk has no beta attachment yet, so
// the download aims at an id that does not exist; TestAttachmentsOfOneCustomerStayHidden
// proves the same answer for a real beta file and for internal files.
func attachmentAccessCases(d ids) map[string]probe {
	return map[string]probe{
		"POST /api/v1/requests/{id}/attachments": {method: "POST", path: fmt.Sprintf("/api/v1/requests/%d/attachments?name=planted.txt", d.betaRequest), body: "planted by alfa", want: all(404)},
		"GET /api/v1/attachments/{id}":           {method: "GET", path: "/api/v1/attachments/999999", want: all(404)},
	}
}
