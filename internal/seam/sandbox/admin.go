package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Admin routes, under /_sandbox/ (never /acs, and without Seam auth: bind the
// sandbox to loopback).
//
//	GET  /_sandbox/state              everything, API keys by prefix only
//	GET  /_sandbox/counters           {"/acs/users/create": {"200": 3, "0": 1}, ...}
//	POST /_sandbox/counters/reset
//	GET  /_sandbox/audit              every committed write: [{"seq", "time", "route", "acs_user_id",
//	                                  "acs_access_group_id"?, "email_address"?, "answered"}, ...]
//	GET  /_sandbox/faults             current faults
//	POST /_sandbox/faults             replace faults, e.g. {"latency": "200ms",
//	                                  "route_latency": {"/acs/users/list": "1s"},
//	                                  "error_rates": {"/acs/users/get": {"probability": 0.5, "status": 503}},
//	                                  "rate_limit_storm": {"remaining": 3, "retry_after": "2"},
//	                                  "outage": true, "drop_after_commit": {"/acs/users/create": 1}}
//	POST /_sandbox/faults/clear
//	POST /_sandbox/users/delete       {"acs_user_id": "..."}: out-of-band delete
//	POST /_sandbox/users/update       {"acs_user_id", "full_name"?, "email_address"?, "phone_number"?,
//	                                  "is_suspended"?, "acs_access_group_ids"?}: out-of-band change
//	POST /_sandbox/mutations/settle   apply every pending mutation now
//	POST /_sandbox/systems/offline    {"acs_system_id", "offline": true|false}: a building's system
//	                                  drops off the network (acs_system.disconnected) or comes back
//	GET  /_sandbox/events             every event emitted, oldest first
//	GET  /_sandbox/deliveries         every webhook delivery attempt: [{"svix_id", "event_type", "url",
//	                                  "attempt", "status"}, ...]
func (s *Server) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sandbox/state", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET /_sandbox/counters", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, s.Counters())
	})
	mux.HandleFunc("POST /_sandbox/counters/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetCounters()
		writeAdmin(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /_sandbox/audit", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, s.Audit())
	})
	mux.HandleFunc("GET /_sandbox/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeAdmin(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.SetFaults(f)
		writeAdmin(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /_sandbox/faults/clear", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearFaults()
		writeAdmin(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /_sandbox/users/delete", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			AcsUserID string `json:"acs_user_id"`
		}
		if !decodeAdmin(w, r, &in) {
			return
		}
		if err := s.DeleteUserOutOfBand(in.AcsUserID); err != nil {
			writeAdmin(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeAdmin(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_sandbox/users/update", s.adminUpdateUser)
	mux.HandleFunc("POST /_sandbox/systems/offline", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			AcsSystemID string `json:"acs_system_id"`
			Offline     bool   `json:"offline"`
		}
		if !decodeAdmin(w, r, &in) {
			return
		}
		s.SetSystemOffline(in.AcsSystemID, in.Offline)
		writeAdmin(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /_sandbox/events", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, s.Events())
	})
	mux.HandleFunc("GET /_sandbox/deliveries", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, s.Deliveries())
	})
	mux.HandleFunc("POST /_sandbox/mutations/settle", func(w http.ResponseWriter, _ *http.Request) {
		s.SettleMutations()
		writeAdmin(w, http.StatusOK, map[string]bool{"ok": true})
	})
	return mux
}

func (s *Server) adminUpdateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AcsUserID    string    `json:"acs_user_id"`
		FullName     *string   `json:"full_name"`
		EmailAddress *string   `json:"email_address"`
		PhoneNumber  *string   `json:"phone_number"`
		IsSuspended  *bool     `json:"is_suspended"`
		GroupIDs     *[]string `json:"acs_access_group_ids"`
	}
	if !decodeAdmin(w, r, &in) {
		return
	}
	err := s.UpdateUserOutOfBand(in.AcsUserID, func(u *User) {
		if in.FullName != nil {
			u.FullName = *in.FullName
		}
		if in.EmailAddress != nil {
			u.EmailAddress = *in.EmailAddress
		}
		if in.PhoneNumber != nil {
			u.PhoneNumber = *in.PhoneNumber
		}
		if in.IsSuspended != nil {
			u.IsSuspended = *in.IsSuspended
		}
		if in.GroupIDs != nil {
			u.GroupIDs = *in.GroupIDs
		}
	})
	if err != nil {
		writeAdmin(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	u, _ := s.User(in.AcsUserID)
	writeAdmin(w, http.StatusOK, u)
}

func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeAdmin(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("decoding body: %v", err)})
		return false
	}
	return true
}

func writeAdmin(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
