package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"tend/internal/apperr"
)

// statusOf maps an error code to its HTTP status (apperr.HTTPStatus).
func statusOf(c apperr.Code) int { return apperr.HTTPStatus(c) }

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    apperr.Code `json:"code"`
	Message string      `json:"message"`
	Field   string      `json:"field,omitempty"`
	Allowed []string    `json:"allowed,omitempty"`
}

// writeError answers with {"error":{"code","message","field"}}. Internal
// errors are logged here, once, and shown without their details.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := apperr.As(err)
	status := statusOf(e.Code)
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Code == apperr.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tend"`)
	}
	msg := e.Message
	if e.Code == apperr.Internal {
		msg = "internal error; the server log has the details"
	}
	writeJSON(w, status, errorBody{errorDetail{Code: e.Code, Message: msg, Field: e.Field, Allowed: e.Allowed}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// readBody reads a JSON body within the size limit.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, apperr.New(apperr.TooLarge, "the body is larger than %d bytes", limit)
	}
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "could not read the body: %v", err)
	}
	// curl -d labels JSON as a form; take it when it is plainly JSON.
	ct := r.Header.Get("Content-Type")
	looksJSON := strings.HasPrefix(strings.TrimSpace(string(b)), "{")
	if ct != "" && !strings.HasPrefix(ct, "application/json") &&
		!(strings.HasPrefix(ct, "application/x-www-form-urlencoded") && looksJSON) {
		return nil, apperr.New(apperr.Unsupported, "send the body as application/json")
	}
	return b, nil
}

// bodyOf reads and strictly decodes the JSON body of r into a T.
func bodyOf[T any](s *Server, r *http.Request) (T, error) {
	var v T
	b, err := readBody(r, s.cfg.MaxBody)
	if err != nil {
		return v, err
	}
	err = decodeStrict(b, &v)
	return v, err
}

// decodeStrict fills v from JSON, refusing unknown fields, wrong types and
// trailing data, and naming the field at fault.
func decodeStrict(b []byte, v any) error {
	if len(strings.TrimSpace(string(b))) == 0 {
		return apperr.New(apperr.Invalid, "the body is empty; send a JSON object")
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return apperr.New(apperr.Invalid, "the body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.Invalid, "the body holds data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apperr.New(apperr.Invalid, "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		return apperr.Field(typ.Field, "%s must be %s, not %s", fieldName(typ.Field), kindName(typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.New(apperr.Invalid, "the JSON body ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return apperr.Field(f, "unknown field %q", f)
	}
	// Errors from our own UnmarshalJSON methods (dates, durations) carry the
	// reason; json wraps them without the field name.
	return apperr.New(apperr.Invalid, "invalid value: %v", err)
}

func fieldName(f string) string {
	if f == "" {
		return "the body"
	}
	return f
}

func kindName(t reflect.Type) string {
	switch t.String() {
	case "civil.Date":
		return "a real date in the form YYYY-MM-DD"
	case "licensing.Duration":
		return `a duration such as "4h" or "90m"`
	}
	k := t.Kind().String()
	switch k {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint8", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	}
	return "a " + k
}

// pathID reads a numeric {id} from the path.
func pathID(r *http.Request, name string) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || v <= 0 {
		return 0, apperr.Field(name, "%q is not an id", r.PathValue(name))
	}
	return v, nil
}

// queryID reads an optional numeric query parameter.
func queryID(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, apperr.Field(name, "%s must be a whole number", name)
	}
	return v, nil
}

func queryInt(r *http.Request, name string, def int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, apperr.Field(name, "%s must be a whole number", name)
	}
	return v, nil
}

func errorf(field, format string, args ...any) error {
	return apperr.Field(field, "%s", fmt.Sprintf(format, args...))
}
