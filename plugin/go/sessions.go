package daguauth

import "time"

// Session controls (ABI 1.5; with an older library these calls answer ErrUnsupportedVersion).
// The rules are the plugin's (plugin/openapi.yaml, "Sessions").

// Session is one of the caller's own sessions. ID is a digest, never the token.
type Session struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	ClientIP   string    `json:"clientIp"`
	UserAgent  string    `json:"userAgent"`
	// Current marks the session of the token the list was asked with.
	Current bool `json:"current"`
}

type endedSessions struct {
	Ended int `json:"ended"`
}

// AuthenticateFrom is Authenticate recording the client's User-Agent (may be empty) on the
// session, for its owner's list.
func (in *Instance) AuthenticateFrom(username, password, clientIP, userAgent string) (*LoginResponse, error) {
	var login LoginResponse
	if err := in.call(fnAuthenticateFrom, &login, username, password, clientIP, userAgent); err != nil {
		return nil, err
	}
	return &login, nil
}

// Sessions lists the caller's own sessions that are still good, the current one first. An API
// key has no sessions: ErrBadRequest.
func (in *Instance) Sessions(token string) ([]Session, error) {
	var answer struct {
		Sessions []Session `json:"sessions"`
	}
	if err := in.call(fnSessionList, &answer, token); err != nil {
		return nil, err
	}
	return answer.Sessions, nil
}

// EndSession ends one of the caller's own sessions by its listed ID (the current one too: that
// is signing out). Another user's ID is ErrNotFound.
func (in *Instance) EndSession(token, sessionID string) error {
	return in.call(fnSessionEnd, nil, token, sessionID)
}

// EndOtherSessions ends every session of the caller but the current one; answers how many ended.
func (in *Instance) EndOtherSessions(token string) (int, error) {
	var answer endedSessions
	if err := in.call(fnSessionEndOthers, &answer, token); err != nil {
		return 0, err
	}
	return answer.Ended, nil
}

// EndUserSessions ends every session of user userID (admin); the password and the user's API
// keys stay. Answers how many ended.
func (in *Instance) EndUserSessions(token, userID string) (int, error) {
	var answer endedSessions
	if err := in.call(fnUserEndSessions, &answer, token, userID); err != nil {
		return 0, err
	}
	return answer.Ended, nil
}
