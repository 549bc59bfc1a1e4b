use super::*;

const NOW: u64 = 1_700_000_000;

/// A person logged in 100 s ago who approved every scope before: nothing to show.
fn settled() -> Situation {
    Situation {
        auth_time: Some(NOW - 100),
        consent_remembered: true,
        now: NOW,
        ..Situation::default()
    }
}

fn login(reason: &'static str) -> Option<Required> {
    Some(Required {
        interaction: Interaction::Login,
        reason,
    })
}

fn consent(reason: &'static str) -> Option<Required> {
    Some(Required {
        interaction: Interaction::Consent,
        reason,
    })
}

fn prompt(none: bool, login: bool, consent: bool) -> Prompt {
    Prompt {
        none,
        login,
        consent,
    }
}

#[test]
fn a_settled_situation_proceeds() {
    assert_eq!(AUTHORIZATION.decide(&settled()), Decision::Proceed);
}

#[test]
fn checks_run_login_first_then_consent() {
    let reasons: Vec<_> = AUTHORIZATION.checks().iter().map(|c| c.reason).collect();
    assert_eq!(
        reasons,
        [
            "no_session",
            "max_age",
            "prompt_login",
            "prompt_consent",
            "consent_missing"
        ]
    );
}

#[test]
fn no_session_requires_login() {
    assert_eq!(NO_SESSION.run(&settled()), None);
    let anonymous = Situation {
        auth_time: None,
        ..settled()
    };
    assert_eq!(NO_SESSION.run(&anonymous), login("no_session"));
}

#[test]
fn max_age_is_met_at_exactly_max_age_and_fails_one_second_later() {
    let at = |age: u64| Situation {
        max_age: Some(300),
        auth_time: Some(NOW - age),
        ..settled()
    };
    assert_eq!(MAX_AGE.run(&at(299)), None);
    assert_eq!(MAX_AGE.run(&at(300)), None);
    assert_eq!(MAX_AGE.run(&at(301)), login("max_age"));
}

#[test]
fn max_age_zero_requires_a_login_after_the_first_second() {
    let situation = Situation {
        max_age: Some(0),
        auth_time: Some(NOW),
        ..settled()
    };
    assert_eq!(MAX_AGE.run(&situation), None);
    let later = Situation {
        now: NOW + 1,
        ..situation
    };
    assert_eq!(MAX_AGE.run(&later), login("max_age"));
}

#[test]
fn max_age_is_met_by_a_login_in_this_interaction_and_ignored_without_one() {
    let old = Situation {
        max_age: Some(60),
        auth_time: Some(NOW - 3600),
        ..settled()
    };
    assert_eq!(MAX_AGE.run(&old), login("max_age"));
    let relogged = Situation {
        logged_in_now: true,
        ..old
    };
    assert_eq!(MAX_AGE.run(&relogged), None);
    let unbounded = Situation {
        max_age: None,
        ..old
    };
    assert_eq!(MAX_AGE.run(&unbounded), None);
    // Without a session there is no age to judge: that is `no_session`'s business.
    let anonymous = Situation {
        auth_time: None,
        ..old
    };
    assert_eq!(MAX_AGE.run(&anonymous), None);
}

#[test]
fn prompt_login_requires_a_login_until_the_person_logged_in_here() {
    assert_eq!(PROMPT_LOGIN.run(&settled()), None);
    let asked = Situation {
        prompt: prompt(false, true, false),
        ..settled()
    };
    assert_eq!(PROMPT_LOGIN.run(&asked), login("prompt_login"));
    let relogged = Situation {
        logged_in_now: true,
        ..asked
    };
    assert_eq!(PROMPT_LOGIN.run(&relogged), None);
}

#[test]
fn prompt_consent_asks_again_unless_just_given_or_skipped() {
    assert_eq!(PROMPT_CONSENT.run(&settled()), None);
    let asked = Situation {
        prompt: prompt(false, false, true),
        ..settled()
    };
    assert_eq!(PROMPT_CONSENT.run(&asked), consent("prompt_consent"));
    let given = Situation {
        consent_given_now: true,
        ..asked
    };
    assert_eq!(PROMPT_CONSENT.run(&given), None);
    let first_party = Situation {
        skip_consent: true,
        ..asked
    };
    assert_eq!(PROMPT_CONSENT.run(&first_party), None);
}

#[test]
fn consent_missing_unless_remembered_just_given_or_skipped() {
    assert_eq!(CONSENT_MISSING.run(&settled()), None);
    let unapproved = Situation {
        consent_remembered: false,
        ..settled()
    };
    assert_eq!(CONSENT_MISSING.run(&unapproved), consent("consent_missing"));
    let given = Situation {
        consent_given_now: true,
        ..unapproved
    };
    assert_eq!(CONSENT_MISSING.run(&given), None);
    let first_party = Situation {
        skip_consent: true,
        ..unapproved
    };
    assert_eq!(CONSENT_MISSING.run(&first_party), None);
}

#[test]
fn login_comes_before_consent() {
    let anonymous_and_unapproved = Situation {
        auth_time: None,
        consent_remembered: false,
        prompt: prompt(false, false, true),
        ..settled()
    };
    assert_eq!(
        AUTHORIZATION.required(&anonymous_and_unapproved),
        login("no_session")
    );
    let both_prompts = Situation {
        prompt: prompt(false, true, true),
        ..settled()
    };
    assert_eq!(AUTHORIZATION.required(&both_prompts), login("prompt_login"));
    // Once the person logged in here, the consent prompt is next.
    let relogged = Situation {
        logged_in_now: true,
        ..both_prompts
    };
    assert_eq!(AUTHORIZATION.required(&relogged), consent("prompt_consent"));
}

#[test]
fn the_first_failing_check_names_the_reason() {
    let too_old_and_prompted = Situation {
        max_age: Some(10),
        prompt: prompt(false, true, false),
        ..settled()
    };
    assert_eq!(
        AUTHORIZATION.required(&too_old_and_prompted),
        login("max_age")
    );
    let prompted_and_unapproved = Situation {
        prompt: prompt(false, false, true),
        consent_remembered: false,
        ..settled()
    };
    assert_eq!(
        AUTHORIZATION.required(&prompted_and_unapproved),
        consent("prompt_consent")
    );
}

#[test]
fn consent_just_given_proceeds() {
    let situation = Situation {
        consent_remembered: false,
        consent_given_now: true,
        ..settled()
    };
    assert_eq!(AUTHORIZATION.decide(&situation), Decision::Proceed);
}

#[test]
fn skip_consent_proceeds_without_remembered_consent() {
    let situation = Situation {
        consent_remembered: false,
        skip_consent: true,
        prompt: prompt(false, false, true),
        ..settled()
    };
    assert_eq!(AUTHORIZATION.decide(&situation), Decision::Proceed);
}

#[test]
fn a_required_page_is_shown_without_prompt_none() {
    let anonymous = Situation {
        auth_time: None,
        ..settled()
    };
    assert_eq!(
        AUTHORIZATION.decide(&anonymous),
        Decision::Interact(Required {
            interaction: Interaction::Login,
            reason: "no_session",
        })
    );
}

#[test]
fn prompt_none_turns_a_required_login_into_login_required() {
    let anonymous = Situation {
        auth_time: None,
        prompt: prompt(true, false, false),
        ..settled()
    };
    let Decision::Refuse(required, error) = AUTHORIZATION.decide(&anonymous) else {
        panic!("prompt=none must refuse");
    };
    assert_eq!(required.reason, "no_session");
    assert_eq!(error.code(), ErrorCode::LoginRequired);
    let too_old = Situation {
        max_age: Some(10),
        prompt: prompt(true, false, false),
        ..settled()
    };
    let Decision::Refuse(required, error) = AUTHORIZATION.decide(&too_old) else {
        panic!("prompt=none must refuse");
    };
    assert_eq!(required.reason, "max_age");
    assert_eq!(error.code(), ErrorCode::LoginRequired);
}

#[test]
fn prompt_none_turns_a_required_consent_into_consent_required() {
    let unapproved = Situation {
        consent_remembered: false,
        prompt: prompt(true, false, false),
        ..settled()
    };
    let Decision::Refuse(required, error) = AUTHORIZATION.decide(&unapproved) else {
        panic!("prompt=none must refuse");
    };
    assert_eq!(required.reason, "consent_missing");
    assert_eq!(error.code(), ErrorCode::ConsentRequired);
}

#[test]
fn prompt_none_proceeds_when_nothing_is_required() {
    let silent = Situation {
        prompt: prompt(true, false, false),
        ..settled()
    };
    assert_eq!(AUTHORIZATION.decide(&silent), Decision::Proceed);
}

#[test]
fn a_policy_runs_only_its_own_checks() {
    // E.g. a device grant that never shows a consent page to a first-party device.
    let login_only = Policy::new(&[NO_SESSION, MAX_AGE]);
    let unapproved = Situation {
        consent_remembered: false,
        ..settled()
    };
    assert_eq!(login_only.decide(&unapproved), Decision::Proceed);
}
