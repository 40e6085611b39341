/// FreeSWITCH hangup causes: their Q.850 codes and the `<end>` reason they give.
public enum HangupCause {
    /// The Q.850 code of a cause name, as FreeSWITCH reports it in `hangup_cause_q850`: causes above 127
    /// (FreeSWITCH's own, such as ORIGINATOR_CANCEL) report 16, NORMAL_CLEARING. `nil` for an unknown name.
    public static func q850(_ cause: String) -> Int? {
        guard let code = codes[cause] else { return nil }
        return code <= 127 ? code : 16
    }

    /// The `<end>` reason of a call that ended with `cause` (not by a client's `<hangup>`).
    public static func endReason(_ cause: String) -> RayoEndReason {
        switch cause {
        case "USER_BUSY", "BUSY_EVERYWHERE": .busy
        case "NO_ANSWER", "NO_USER_RESPONSE", "ALLOTTED_TIMEOUT", "PROGRESS_TIMEOUT", "RECOVERY_ON_TIMER_EXPIRE":
            .timeout
        case "CALL_REJECTED", "DECLINE", "REJECT_ALL": .rejected
        case _ where normalCauses.contains(cause): .hungup
        case _ where codes[cause] != nil: .error
        default: .hungup
        }
    }

    /// Causes of a call that simply ended.
    static let normalCauses: Set<String> = [
        "NONE", "UNSPECIFIED", "NORMAL_CLEARING", "NORMAL_UNSPECIFIED", "ORIGINATOR_CANCEL", "LOSE_RACE",
        "MANAGER_REQUEST", "BLIND_TRANSFER", "ATTENDED_TRANSFER", "PICKED_OFF", "SUCCESS", "CALL_AWARDED_DELIVERED",
        "REDIRECTION_TO_NEW_DESTINATION", "RESPONSE_TO_STATUS_ENQUIRY", "NO_PICKUP",
    ]

    /// FreeSWITCH's cause names and numbers (switch_types.h).
    static let codes: [String: Int] = [
        "NONE": 0, "UNSPECIFIED": 0, "UNALLOCATED_NUMBER": 1, "NO_ROUTE_TRANSIT_NET": 2, "NO_ROUTE_DESTINATION": 3,
        "CHANNEL_UNACCEPTABLE": 6, "CALL_AWARDED_DELIVERED": 7, "NORMAL_CLEARING": 16, "USER_BUSY": 17,
        "NO_USER_RESPONSE": 18, "NO_ANSWER": 19, "SUBSCRIBER_ABSENT": 20, "CALL_REJECTED": 21, "NUMBER_CHANGED": 22,
        "REDIRECTION_TO_NEW_DESTINATION": 23, "EXCHANGE_ROUTING_ERROR": 25, "DESTINATION_OUT_OF_ORDER": 27,
        "INVALID_NUMBER_FORMAT": 28, "FACILITY_REJECTED": 29, "RESPONSE_TO_STATUS_ENQUIRY": 30,
        "NORMAL_UNSPECIFIED": 31, "NORMAL_CIRCUIT_CONGESTION": 34, "NETWORK_OUT_OF_ORDER": 38,
        "NORMAL_TEMPORARY_FAILURE": 41, "SWITCH_CONGESTION": 42, "ACCESS_INFO_DISCARDED": 43,
        "REQUESTED_CHAN_UNAVAIL": 44, "PRE_EMPTED": 45, "FACILITY_NOT_SUBSCRIBED": 50, "OUTGOING_CALL_BARRED": 52,
        "INCOMING_CALL_BARRED": 54, "BEARERCAPABILITY_NOTAUTH": 57, "BEARERCAPABILITY_NOTAVAIL": 58,
        "SERVICE_UNAVAILABLE": 63, "BEARERCAPABILITY_NOTIMPL": 65, "CHAN_NOT_IMPLEMENTED": 66,
        "FACILITY_NOT_IMPLEMENTED": 69, "SERVICE_NOT_IMPLEMENTED": 79, "INVALID_CALL_REFERENCE": 81,
        "INCOMPATIBLE_DESTINATION": 88, "INVALID_MSG_UNSPECIFIED": 95, "MANDATORY_IE_MISSING": 96,
        "MESSAGE_TYPE_NONEXIST": 97, "WRONG_MESSAGE": 98, "IE_NONEXIST": 99, "INVALID_IE_CONTENTS": 100,
        "WRONG_CALL_STATE": 101, "RECOVERY_ON_TIMER_EXPIRE": 102, "MANDATORY_IE_LENGTH_ERROR": 103,
        "PROTOCOL_ERROR": 111, "INTERWORKING": 127, "SUCCESS": 142, "ORIGINATOR_CANCEL": 487, "CRASH": 700,
        "SYSTEM_SHUTDOWN": 701, "LOSE_RACE": 502, "MANAGER_REQUEST": 503, "BLIND_TRANSFER": 600,
        "ATTENDED_TRANSFER": 601, "ALLOTTED_TIMEOUT": 602, "USER_CHALLENGE": 603, "MEDIA_TIMEOUT": 604,
        "PICKED_OFF": 605, "USER_NOT_REGISTERED": 606, "PROGRESS_TIMEOUT": 607, "INVALID_GATEWAY": 608,
        "GATEWAY_DOWN": 609, "INVALID_URL": 610, "INVALID_PROFILE": 611, "NO_PICKUP": 612, "SRTP_READ_ERROR": 613,
        "BOWOUT": 614, "BUSY_EVERYWHERE": 615, "DECLINE": 616, "DOES_NOT_EXIST_ANYWHERE": 617,
        "NOT_ACCEPTABLE": 618, "UNWANTED": 619, "NO_IDENTITY": 620, "BAD_IDENTITY_INFO": 621,
        "UNSUPPORTED_CERTIFICATE": 622, "INVALID_IDENTITY": 623, "STALE_DATE": 624, "REJECT_ALL": 625,
    ]
}
