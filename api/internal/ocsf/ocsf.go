// Package ocsf maps authlog events to OCSF 1.5 Authentication events
// (class 3002), so a SIEM ingests the API's format=ocsf without a mapping of
// its own.  What OCSF has no attribute for travels in unmapped.
package ocsf

import (
	"strings"

	"authlog/api/internal/store"
)

// The OCSF schema version the mapping follows.
const SchemaVersion = "1.5.0"

const (
	categoryIAM         = 3
	classAuthentication = 3002
	activityLogon       = 1
	activityOther       = 99
	statusSuccess       = 1
	statusFailure       = 2
	statusOther         = 99
	severityInfo        = 1
	severityLow         = 2
	severityMedium      = 3
)

// Product names authlog in metadata.product.
type Product struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version,omitempty"`
}

type Metadata struct {
	Version   string  `json:"version"`
	Product   Product `json:"product"`
	UID       string  `json:"uid"`
	TenantUID string  `json:"tenant_uid"`
	// when authlog recorded it (OCSF's logged_time, epoch ms)
	LoggedTime int64 `json:"logged_time"`
}

type Organization struct {
	UID string `json:"uid"`
}

type User struct {
	UID  string       `json:"uid"`
	Name string       `json:"name"`
	Org  Organization `json:"org"`
}

type Endpoint struct {
	IP string `json:"ip,omitempty"`
}

type HTTPRequest struct {
	UserAgent string `json:"user_agent,omitempty"`
}

type Actor struct {
	User *User `json:"user,omitempty"`
}

// Authentication is one OCSF Authentication event.
type Authentication struct {
	CategoryUID  int          `json:"category_uid"`
	CategoryName string       `json:"category_name"`
	ClassUID     int          `json:"class_uid"`
	ClassName    string       `json:"class_name"`
	ActivityID   int          `json:"activity_id"`
	ActivityName string       `json:"activity_name"`
	TypeUID      int          `json:"type_uid"`
	TypeName     string       `json:"type_name"`
	SeverityID   int          `json:"severity_id"`
	Severity     string       `json:"severity"`
	StatusID     int          `json:"status_id"`
	Status       string       `json:"status"`
	StatusDetail string       `json:"status_detail,omitempty"`
	Time         int64        `json:"time"`
	Message      string       `json:"message"`
	Metadata     Metadata     `json:"metadata"`
	User         User         `json:"user"`
	Actor        *Actor       `json:"actor,omitempty"`
	SrcEndpoint  *Endpoint    `json:"src_endpoint,omitempty"`
	HTTPRequest  *HTTPRequest `json:"http_request,omitempty"`
	IsMFA        *bool        `json:"is_mfa,omitempty"`
	Unmapped     Unmapped     `json:"unmapped"`
}

// Unmapped keeps what OCSF has no attribute for.
type Unmapped struct {
	EventType           string  `json:"authlog_event_type"`
	AuthPath            *string `json:"authlog_auth_path,omitempty"`
	Position            string  `json:"authlog_position"`
	FailedLoginAttempts *int    `json:"authlog_failed_login_attempts,omitempty"`
	AccountLockedUntil  *string `json:"authlog_account_locked_until,omitempty"`
}

// FromEvent maps one event of a tenant.
func FromEvent(tenant, productVersion string, e store.Event) Authentication {
	a := Authentication{
		CategoryUID: categoryIAM, CategoryName: "Identity & Access Management",
		ClassUID: classAuthentication, ClassName: "Authentication",
		Time: e.OccurredAt.UnixMilli(),
		Metadata: Metadata{
			Version:    SchemaVersion,
			Product:    Product{Name: "authlog", VendorName: "authlog", Version: productVersion},
			UID:        e.LogID,
			TenantUID:  tenant,
			LoggedTime: e.RecordedAt.UnixMilli(),
		},
		User: User{UID: e.UserID, Name: e.UserID, Org: Organization{UID: e.OrganisationID}},
		Unmapped: Unmapped{EventType: e.EventType, AuthPath: e.AuthPath, Position: e.Position,
			FailedLoginAttempts: e.FailedLoginAttempts},
	}
	if e.AccountLockedUntil != nil {
		s := e.AccountLockedUntil.UTC().Format("2006-01-02T15:04:05.000000Z")
		a.Unmapped.AccountLockedUntil = &s
	}
	if e.IPAddress != nil {
		a.SrcEndpoint = &Endpoint{IP: *e.IPAddress}
	}
	if e.UserAgent != nil && *e.UserAgent != "" {
		a.HTTPRequest = &HTTPRequest{UserAgent: *e.UserAgent}
	}
	if e.Actor != nil && *e.Actor != "" {
		a.Actor = &Actor{User: &User{UID: *e.Actor, Name: *e.Actor}}
	}
	detail := []string{}
	if e.Decision != nil {
		detail = append(detail, *e.Decision)
	}
	if e.Reason != nil {
		detail = append(detail, *e.Reason)
	}
	a.StatusDetail = strings.Join(detail, ": ")

	a.ActivityID, a.ActivityName = activityLogon, "Logon"
	a.SeverityID, a.Severity = severityInfo, "Informational"
	switch e.EventType {
	case "login_success":
		a.StatusID, a.Status = statusSuccess, "Success"
		a.Message = "login succeeded"
	case "login_failed":
		a.StatusID, a.Status = statusFailure, "Failure"
		a.SeverityID, a.Severity = severityLow, "Low"
		a.Message = "login failed"
		if e.Decision != nil && *e.Decision == "locked" {
			a.Message = "login refused: the account is locked"
		}
	case "account_locked":
		a.ActivityID, a.ActivityName = activityOther, "Account Locked"
		a.StatusID, a.Status = statusOther, "Other"
		a.SeverityID, a.Severity = severityMedium, "Medium"
		a.Message = "account locked"
	case "lockout_reset":
		a.ActivityID, a.ActivityName = activityOther, "Lockout Reset"
		a.StatusID, a.Status = statusOther, "Other"
		a.Message = "account lockout reset"
	default:
		a.ActivityID, a.ActivityName = activityOther, "Other"
		a.StatusID, a.Status = statusOther, "Other"
		a.Message = strings.ReplaceAll(e.EventType, "_", " ")
	}
	a.TypeUID = classAuthentication*100 + a.ActivityID
	a.TypeName = "Authentication: " + a.ActivityName
	return a
}
