package apperr

import "net/http"

// HTTPStatus is the one place an error code becomes an HTTP status, for
// the API and the pages alike.
func HTTPStatus(c Code) int {
	switch c {
	case Invalid:
		return http.StatusUnprocessableEntity
	case Unauthenticated:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case RateLimited:
		return http.StatusTooManyRequests
	case Unavailable:
		return http.StatusServiceUnavailable
	case Unsupported:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}
