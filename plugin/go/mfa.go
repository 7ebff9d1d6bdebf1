package daguauth

// Two-factor sign-in (ABI 1.5; with an older library these calls answer ErrUnsupportedVersion).
// The rules are the plugin's (plugin/openapi.yaml, "Two-factor").

// SignInResult is the answer of SignIn: a session, or the second step's token.
type SignInResult struct {
	// Login is the session, nil when a code is needed first.
	Login *LoginResponse
	// MFAToken, when Login is nil, finishes the sign-in with LoginMFA within 5 minutes.
	MFAToken string
	// Message is what to show the user when a code is needed.
	Message string
}

// SignIn is Authenticate reporting a second step: for a user with two-factor sign-in whose
// password is right, no session but an MFAToken. (Authenticate answers such a user
// ErrUnauthenticated with the message only.)
func (in *Instance) SignIn(username, password, clientIP string) (*SignInResult, error) {
	var answer struct {
		LoginResponse
		Code     string `json:"code"`
		Message  string `json:"message"`
		MFAToken string `json:"mfaToken"`
	}
	if err := in.call(fnSignIn, &answer, username, password, clientIP); err != nil {
		return nil, err
	}
	if answer.Code == "mfa_required" {
		return &SignInResult{MFAToken: answer.MFAToken, Message: answer.Message}, nil
	}
	return &SignInResult{Login: &answer.LoginResponse}, nil
}

// LoginMFA is the second step: the MFAToken of SignIn and a TOTP or recovery code. A wrong or
// used code is ErrUnauthenticated and counts against the account's sign-in limit.
func (in *Instance) LoginMFA(mfaToken, code, clientIP string) (*LoginResponse, error) {
	var login LoginResponse
	if err := in.call(fnLoginMFA, &login, mfaToken, code, clientIP); err != nil {
		return nil, err
	}
	return &login, nil
}

// TOTPSetup is a new TOTP secret for the caller (base32) and its otpauth:// URI, shown once.
type TOTPSetup struct {
	Secret     string `json:"secret"`
	OtpauthURL string `json:"otpauthUrl"`
}

// StartTOTPSetup starts TOTP setup; ErrConflict when two-factor sign-in is on already.
func (in *Instance) StartTOTPSetup(token string) (*TOTPSetup, error) {
	var setup TOTPSetup
	if err := in.call(fnTOTPSetup, &setup, token); err != nil {
		return nil, err
	}
	return &setup, nil
}

type recoveryCodes struct {
	RecoveryCodes []string `json:"recoveryCodes"`
}

// ConfirmTOTP turns two-factor sign-in on with a code of the new secret; answers the recovery
// codes, shown this once.
func (in *Instance) ConfirmTOTP(token, code string) ([]string, error) {
	var answer recoveryCodes
	if err := in.call(fnTOTPConfirm, &answer, token, code); err != nil {
		return nil, err
	}
	return answer.RecoveryCodes, nil
}

// DisableTOTP turns the caller's two-factor sign-in off with their password and a code.
func (in *Instance) DisableTOTP(token, currentPassword, code string) error {
	return in.call(fnTOTPDisable, nil, token, currentPassword, code)
}

// RegenerateRecoveryCodes replaces the caller's recovery codes, for a code.
func (in *Instance) RegenerateRecoveryCodes(token, code string) ([]string, error) {
	var answer recoveryCodes
	if err := in.call(fnRecoveryCodesRegenerate, &answer, token, code); err != nil {
		return nil, err
	}
	return answer.RecoveryCodes, nil
}

// ResetMFA turns another user's two-factor sign-in off (admin); that user's sessions end.
func (in *Instance) ResetMFA(token, userID string) error {
	return in.call(fnUserMFAReset, nil, token, userID)
}
