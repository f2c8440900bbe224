//! The verdict against hand-made snapshots and recorded rollouts.

#[test]
fn reasons_that_differ_only_by_ids_are_one_cause() {
    let a = Cause::ResourceInitialization {
        detail: "ResourceInitializationError: unable to pull image or start container: 409 Conflict: name \"/ministack-ecs-3f9c2a1e-7b7d-4c2a-9d1e-0a1b2c3d4e5f-web\" is already in use by container \"8e3b1f0c2d4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4\"".into(),
    };
    let b = Cause::ResourceInitialization {
        detail: "ResourceInitializationError: unable to pull image or start container: 409 Conflict: name \"/ministack-ecs-aa11bb22-cc33-4d44-8e55-ff6677889900-web\" is already in use by container \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"".into(),
    };
    assert!(a.same_as(&b));
    // As the local stack's runtime words it, with the task id's first 8 digits in the name
    // (seen with real containers: tests/suite/stack/deploy.rs).
    let conflict = |task: &str, container: &str| Cause::CannotPullImage {
        detail: format!(
            "ResourceInitializationError: unable to pull image or start container: 409 Client Error for http+docker://localhost/v1.41/containers/create?name=ministack-ecs-{task}-web: Conflict (\"Conflict. The container name \"/ministack-ecs-{task}-web\" is already in use by container \"{container}\". You have to remove (or rename) that container to be able to reuse that name.\")"
        ),
    };
    assert!(
        conflict("5c316c33", &"a60cbad2cbf730f8".repeat(4))
            .same_as(&conflict("039f0923", &"287b48692fbbacc1".repeat(4)))
    );
    assert_eq!(normalize_reason("a facade of decade"), "a facade of decade");
    let eni = |id: &str| Cause::NoCapacity {
        detail: format!(
            "failed to attach {id} at 2026-12-02T10:00:0{}Z",
            id.len() % 10
        ),
    };
    assert!(eni("eni-0a1b2c3d4e5f60718").same_as(&eni("eni-0fedcba987654321")));
    let other = Cause::ResourceInitialization {
        detail: "ResourceInitializationError: unable to retrieve secret from asm".into(),
    };
    assert!(!a.same_as(&other));
    let exit = |code| Cause::ContainerExited {
        container: "web".into(),
        exit_code: code,
    };
    assert!(exit(1).same_as(&exit(1)) && !exit(1).same_as(&exit(2)));
}

use super::*;
use serde::Deserialize;

const NEW_TD: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:2";
const OLD_TD: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:1";

fn app_exited(exit_code: i32) -> Cause {
    Cause::ContainerExited {
        container: "app".into(),
        exit_code,
    }
}

fn target() -> Target {
    Target {
        deployment_id: "ecs-svc/new".into(),
        task_definition: NEW_TD.into(),
        previous_task_definition: Some(OLD_TD.into()),
        service_deployment_arn: None,
    }
}

fn deployment(id: &str, status: &str, td: &str, running: i32, state: &str) -> DeploymentView {
    DeploymentView {
        id: id.into(),
        status: status.into(),
        task_definition: td.into(),
        desired: 2,
        running,
        pending: 2 - running,
        failed_tasks: 0,
        rollout_state: Some(state.into()),
        rollout_state_reason: None,
        created_at: None,
        updated_at: None,
    }
}

fn stopped(id: &str, at: f64, reason: &str, exit_code: Option<i32>) -> TaskView {
    TaskView {
        arn: format!("arn:aws:ecs:us-east-1:000000000000:task/c/{id}"),
        task_definition: NEW_TD.into(),
        deployment_id: Some("ecs-svc/new".into()),
        last_status: "STOPPED".into(),
        health_status: None,
        stopped_reason: Some(reason.into()),
        stop_code: Some("EssentialContainerExited".into()),
        stopped_at: Some(at),
        created_at: Some(at - 5.0),
        started_at: Some(at - 4.0),
        containers: vec![ContainerView {
            name: "app".into(),
            exit_code,
            reason: None,
            health_status: None,
        }],
    }
}

fn snapshot(deployments: Vec<DeploymentView>, tasks: Vec<TaskView>) -> Snapshot {
    Snapshot {
        desired: 2,
        running: 2,
        pending: 0,
        deployments,
        tasks,
        events: Vec::new(),
        service_deployment: None,
    }
}

/// Feeds a sequence and returns the first final verdict with its position.
fn run(sequence: &[Snapshot]) -> (usize, Verdict) {
    for (i, s) in sequence.iter().enumerate() {
        let v = evaluate(s, &target(), &Rules::default());
        if v.is_final() {
            return (i, v);
        }
    }
    (
        sequence.len(),
        evaluate(sequence.last().unwrap(), &target(), &Rules::default()),
    )
}

/// Real ECS: the breaker starts a new PRIMARY deployment back to the last COMPLETED
/// revision (here :1, though the service ran :2 before this deploy, which had failed),
/// while ours stays ACTIVE and IN_PROGRESS for a while.
#[test]
fn a_rollback_as_a_new_primary_deployment_is_rolled_back_to_the_last_completed_revision() {
    const FIRST_TD: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:1";
    let mut rollback = deployment("ecs-svc/rb", "PRIMARY", FIRST_TD, 0, "IN_PROGRESS");
    rollback.rollout_state_reason =
        Some("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/one.".into());
    let ours = deployment("ecs-svc/new", "ACTIVE", NEW_TD, 0, "IN_PROGRESS");
    let s = snapshot(
        vec![rollback, ours],
        vec![stopped(
            "t1",
            10.0,
            "Essential container in task exited",
            Some(1),
        )],
    );
    let rules = Rules {
        fail_after_same_stops: 9,
    };
    match evaluate(&s, &target(), &rules) {
        Verdict::RolledBack {
            to_task_definition,
            cause,
            ..
        } => {
            assert_eq!(to_task_definition, FIRST_TD);
            assert_eq!(cause, Some(app_exited(1)));
        }
        other => panic!("{other:?}"),
    }
}

fn service_deployment(status: &str) -> ServiceDeploymentView {
    ServiceDeploymentView {
        arn: "arn:aws:ecs:us-east-1:000000000000:service-deployment/c/app/x1".into(),
        status: status.into(),
        status_reason: None,
        lifecycle_stage: None,
        rollback_reason: None,
        breaker_failures: Some(0),
        breaker_threshold: Some(3),
        strategy: None,
        production_traffic: None,
        test_traffic: None,
        hooks: Vec::new(),
    }
}

fn at_stage(status: &str, stage: &str) -> ServiceDeploymentView {
    let mut sd = service_deployment(status);
    sd.lifecycle_stage = Some(stage.into());
    sd.strategy = Some("BLUE_GREEN".into());
    sd
}

#[test]
fn wait_until_takes_deployed_stable_and_stages_in_either_spelling() {
    assert_eq!(WaitUntil::parse("deployed"), Ok(WaitUntil::Deployed));
    assert_eq!(WaitUntil::parse("stable"), Ok(WaitUntil::Stable));
    assert_eq!(
        WaitUntil::parse("bake-time"),
        Ok(WaitUntil::Stage("BAKE_TIME".into()))
    );
    assert_eq!(
        WaitUntil::parse("POST_TEST_TRAFFIC_SHIFT"),
        Ok(WaitUntil::Stage("POST_TEST_TRAFFIC_SHIFT".into()))
    );
    let err = WaitUntil::parse("baked").unwrap_err();
    assert!(
        err.contains("bake-time") && err.contains("clean-up"),
        "{err}"
    );
    assert_eq!(
        WaitUntil::Stage("BAKE_TIME".into()).shown(),
        "bake-time".to_string()
    );
}

/// A stage ends the watch when reached or passed (polls can skip one); not before, and a
/// success is past every stage.
#[test]
fn a_stage_is_reached_when_the_service_deployment_gets_there() {
    let until = WaitUntil::Stage("BAKE_TIME".into());
    let base = snapshot(
        vec![
            deployment("ecs-svc/new", "PRIMARY", NEW_TD, 2, "IN_PROGRESS"),
            deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
        ],
        vec![],
    );
    let at = |sd: ServiceDeploymentView| {
        evaluate_until(
            &with_service_deployment(base.clone(), sd),
            &target(),
            &Rules::default(),
            &until,
        )
    };
    assert!(!at(at_stage("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT")).is_final());
    assert!(matches!(
        at(at_stage("IN_PROGRESS", "BAKE_TIME")),
        Verdict::StageReached { stage, .. } if stage == "BAKE_TIME"
    ));
    assert!(matches!(
        at(at_stage("IN_PROGRESS", "CLEAN_UP")),
        Verdict::StageReached { .. }
    ));
    assert!(matches!(
        at(at_stage("SUCCESSFUL", "CLEAN_UP")),
        Verdict::Succeeded { .. }
    ));
    // A rollback during the bake time is a failure, not a stage reached.
    let mut rolled = at_stage("ROLLBACK_IN_PROGRESS", "BAKE_TIME");
    rolled.rollback_reason = Some("CloudWatch alarm 5xx in ALARM".into());
    assert!(matches!(
        at(rolled),
        Verdict::RolledBack { ecs_reason: Some(r), .. } if r.contains("alarm")
    ));
}

/// `stable` holds a success until only the new deployment has tasks; `deployed` does not.
#[test]
fn stable_waits_for_the_old_tasks_after_an_early_success() {
    let draining = with_service_deployment(
        snapshot(
            vec![
                deployment("ecs-svc/new", "PRIMARY", NEW_TD, 2, "COMPLETED"),
                deployment("ecs-svc/old", "ACTIVE", OLD_TD, 1, "COMPLETED"),
            ],
            vec![],
        ),
        service_deployment("SUCCESSFUL"),
    );
    let rules = Rules::default();
    assert!(matches!(
        evaluate_until(&draining, &target(), &rules, &WaitUntil::Deployed),
        Verdict::Succeeded { .. }
    ));
    assert!(!evaluate_until(&draining, &target(), &rules, &WaitUntil::Stable).is_final());
    let mut gone = draining.clone();
    gone.deployments.truncate(1);
    assert!(matches!(
        evaluate_until(&gone, &target(), &rules, &WaitUntil::Stable),
        Verdict::Succeeded { .. }
    ));
}

/// The new revision's deployment under way, with `sd` as ECS describes its service deployment.
fn new_deployment_in_progress_with(sd: ServiceDeploymentView) -> Snapshot {
    with_service_deployment(
        snapshot(
            vec![deployment(
                "ecs-svc/new",
                "PRIMARY",
                NEW_TD,
                2,
                "IN_PROGRESS",
            )],
            vec![],
        ),
        sd,
    )
}

/// A deployment paused (hook `hook-7`) after its test traffic shift, rolling back at its timeout.
fn paused_before_production() -> Snapshot {
    let mut sd = at_stage("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT");
    sd.hooks = vec![HookView {
        target_type: "PAUSE".into(),
        target_arn: None,
        status: "AWAITING_ACTION".into(),
        hook_id: Some("hook-7".into()),
        expires_at: Some(1_780_000_000),
        timeout_action: Some("ROLLBACK".into()),
    }];
    new_deployment_in_progress_with(sd)
}

/// A pause says what it waits for: the stage, the command that continues it, and when ECS
/// acts by itself.
#[test]
fn a_paused_deployment_says_how_to_continue_it() {
    let s = paused_before_production();
    let lines = changes(None, &s, &target());
    let paused = lines
        .iter()
        .find(|l| l.starts_with("paused at stage POST_TEST_TRAFFIC_SHIFT"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(paused.contains("`shipit continue`"), "{paused}");
    assert!(
        paused.contains("2026-05-28T") && paused.contains("roll back"),
        "{paused}"
    );
}

/// A watch waiting for a later stage repeats why nothing moves: paused since when, the
/// command that continues it, and what ECS does at the hook's timeout.
#[test]
fn a_long_pause_is_repeated_with_its_age_and_the_stage_waited_for() {
    let s = paused_before_production();
    assert_eq!(paused_hook(&s).as_deref(), Some("hook-7"));
    let line = still_paused(
        &s,
        1_779_990_000.0,
        1_779_990_000.0 + 185.0,
        &WaitUntil::Stage("BAKE_TIME".into()),
    );
    assert!(
        line.starts_with("still paused at stage POST_TEST_TRAFFIC_SHIFT since 2026-05-28T"),
        "{line}"
    );
    assert!(
        line.contains("(3 min)") && line.contains("`shipit continue`"),
        "{line}"
    );
    assert!(
        line.contains("waits for bake-time, after this pause"),
        "{line}"
    );
    assert!(line.contains("ECS will roll back"), "{line}");
    assert_eq!(
        paused_hook(&new_deployment_in_progress_with(at_stage(
            "IN_PROGRESS",
            "BAKE_TIME"
        ))),
        None
    );
}

/// A pause nobody continued times out into ECS's rollback: the verdict says so, and the fix
/// names the command that would have continued it.
#[test]
fn a_pause_that_times_out_is_the_rollbacks_cause() {
    let mut sd = at_stage("ROLLBACK_IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT");
    sd.hooks = vec![HookView {
        target_type: "PAUSE".into(),
        target_arn: None,
        status: "TIMED_OUT".into(),
        hook_id: Some("hook-7".into()),
        expires_at: Some(1_780_000_000),
        timeout_action: Some("ROLLBACK".into()),
    }];
    let s = new_deployment_in_progress_with(sd);
    assert_eq!(paused_hook(&s), None, "no longer paused");
    match evaluate(&s, &target(), &Rules::default()) {
        Verdict::RolledBack {
            cause: Some(cause), ..
        } => {
            let said = cause.describe();
            assert!(
                said.contains("timed out at stage POST_TEST_TRAFFIC_SHIFT"),
                "{said}"
            );
            assert!(cause.fix().contains("`shipit continue`"));
        }
        other => panic!("{other:?}"),
    }
}

/// A lifecycle hook that answered FAILED is the rollback's cause, with its fix.
#[test]
fn a_failed_lifecycle_hook_is_named_as_the_cause() {
    let mut sd = at_stage("ROLLBACK_IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT");
    sd.hooks = vec![HookView {
        target_type: "AWS_LAMBDA".into(),
        target_arn: Some("arn:aws:lambda:us-east-1:123456789012:function:smoke-test".into()),
        status: "FAILED".into(),
        hook_id: Some("hook-1".into()),
        expires_at: None,
        timeout_action: None,
    }];
    let s = new_deployment_in_progress_with(sd);
    match evaluate(&s, &target(), &Rules::default()) {
        Verdict::RolledBack {
            cause: Some(cause), ..
        } => {
            assert_eq!(
                cause.describe(),
                "the lifecycle hook smoke-test answered FAILED at stage POST_TEST_TRAFFIC_SHIFT"
            );
            assert!(cause.fix().contains("/aws/lambda/"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn traffic_split_is_shown_for_traffic_shifting_deployments() {
    let mut sd = at_stage("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT");
    assert_eq!(traffic_split(&sd), None);
    sd.production_traffic = Some(12.5);
    sd.test_traffic = Some(100.0);
    assert_eq!(
        traffic_split(&sd).as_deref(),
        Some("traffic 12.5% new / 87.5% old (test 100%)")
    );
}

fn with_service_deployment(mut s: Snapshot, sd: ServiceDeploymentView) -> Snapshot {
    s.service_deployment = Some(sd);
    s
}

/// With the service-deployment API, its status decides: DescribeServices' COMPLETED while
/// it still says IN_PROGRESS is not success yet; SUCCESSFUL is.
#[test]
fn the_service_deployment_status_decides_success() {
    let done = snapshot(
        vec![deployment("ecs-svc/new", "PRIMARY", NEW_TD, 2, "COMPLETED")],
        vec![],
    );
    let in_progress = with_service_deployment(done.clone(), service_deployment("IN_PROGRESS"));
    assert!(matches!(
        evaluate(&in_progress, &target(), &Rules::default()),
        Verdict::InProgress { .. }
    ));
    let successful = with_service_deployment(done, service_deployment("SUCCESSFUL"));
    assert!(matches!(
        evaluate(&successful, &target(), &Rules::default()),
        Verdict::Succeeded { counts } if counts.running == 2
    ));
}

/// ROLLBACK_SUCCESSFUL with real ECS's new PRIMARY back to :1 (the last COMPLETED), after
/// an earlier failed :2: rolled back to :1, with the tasks' cause and ECS's reason.
#[test]
fn a_service_deployment_rollback_names_the_revision_and_the_cause() {
    const FIRST_TD: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:1";
    const THIRD_TD: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:3";
    let rollback = deployment("ecs-svc/rb", "PRIMARY", FIRST_TD, 2, "COMPLETED");
    let mut ours = deployment("ecs-svc/new", "ACTIVE", THIRD_TD, 0, "FAILED");
    ours.failed_tasks = 3;
    let mut task = stopped("t1", 10.0, "Essential container in task exited", Some(1));
    task.task_definition = THIRD_TD.into();
    let mut sd = service_deployment("ROLLBACK_SUCCESSFUL");
    sd.rollback_reason = Some("ECS deployment circuit breaker: tasks failed to start.".into());
    sd.breaker_failures = Some(3);
    let s = with_service_deployment(snapshot(vec![rollback, ours], vec![task]), sd);
    let mut t = target();
    t.task_definition = THIRD_TD.into();
    // What shipit computed before the deploy: :2 had failed, so the last good is :1.
    t.previous_task_definition = Some(FIRST_TD.into());
    match evaluate(
        &s,
        &t,
        &Rules {
            fail_after_same_stops: 9,
        },
    ) {
        Verdict::RolledBack {
            to_task_definition,
            ecs_reason,
            cause,
        } => {
            assert_eq!(to_task_definition, FIRST_TD);
            assert_eq!(cause, Some(app_exited(1)));
            assert_eq!(
                ecs_reason.as_deref(),
                Some("ECS deployment circuit breaker: tasks failed to start.")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn stopped_and_failed_rollbacks_are_failures_or_supersessions() {
    let ours = deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS");
    let failed_rollback = with_service_deployment(snapshot(vec![ours.clone()], vec![]), {
        let mut sd = service_deployment("ROLLBACK_FAILED");
        sd.status_reason = Some("the rollback's tasks failed too".into());
        sd
    });
    match evaluate(&failed_rollback, &target(), &Rules::default()) {
        Verdict::Failed { ecs_reason, .. } => assert_eq!(
            ecs_reason.as_deref(),
            Some("ECS could not roll back: the rollback's tasks failed too")
        ),
        other => panic!("{other:?}"),
    }
    // Stopped because someone started a newer deployment.
    let newer = deployment("ecs-svc/newer", "PRIMARY", "arn:td/app:9", 0, "IN_PROGRESS");
    let mut ours_active = ours.clone();
    ours_active.status = "ACTIVE".into();
    let superseded = with_service_deployment(
        snapshot(vec![newer, ours_active], vec![]),
        service_deployment("STOPPED"),
    );
    assert_eq!(
        evaluate(&superseded, &target(), &Rules::default()),
        Verdict::Superseded {
            by_task_definition: "arn:td/app:9".into()
        }
    );
    // Stopped with ours still PRIMARY: a failure, in ECS's words.
    let stopped_alone = with_service_deployment(snapshot(vec![ours], vec![]), {
        let mut sd = service_deployment("STOPPED");
        sd.status_reason = Some("stopped by StopServiceDeployment".into());
        sd
    });
    assert!(matches!(
        evaluate(&stopped_alone, &target(), &Rules::default()),
        Verdict::Failed { ecs_reason: Some(r), .. } if r.contains("StopServiceDeployment")
    ));
}

/// Fail-fast still works while the service deployment is IN_PROGRESS (its breaker at 2/3).
#[test]
fn fail_fast_does_not_wait_for_the_service_deployment_breaker() {
    let s = with_service_deployment(
        snapshot(
            vec![
                deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
                deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
            ],
            vec![
                stopped("t1", 10.0, "Essential container in task exited", Some(1)),
                stopped("t2", 20.0, "Essential container in task exited", Some(1)),
            ],
        ),
        ServiceDeploymentView {
            breaker_failures: Some(2),
            ..service_deployment("IN_PROGRESS")
        },
    );
    assert!(matches!(
        evaluate(&s, &target(), &Rules::default()),
        Verdict::Failed { cause, .. } if cause == app_exited(1)
    ));
    let lines = changes(None, &s, &target());
    assert!(
        lines.contains(
            &"service deployment: IN_PROGRESS, circuit breaker 2/3 failed tasks".to_string()
        ),
        "{lines:?}"
    );
}

/// Where a rollback goes, after rev 1 completed and rev 2 failed without rollback, while
/// rev 3 is deployed: rev 1, whatever the service "ran before".
#[test]
fn the_last_good_revision_is_never_one_that_failed() {
    let td = |n: u32| format!("arn:aws:ecs:us-east-1:000000000000:task-definition/app:{n}");
    let mut two = deployment("ecs-svc/two", "PRIMARY", &td(2), 0, "FAILED");
    two.created_at = Some(200.0);
    let mut one = deployment("ecs-svc/one", "ACTIVE", &td(1), 2, "COMPLETED");
    one.created_at = Some(100.0);
    let before = vec![two.clone(), one];
    // ECS's COMPLETED revision wins over what the service ran and over the record.
    assert_eq!(
        last_good(&before, Some(&td(0)), Some(&td(2)), &td(3)),
        Some(td(1))
    );
    // Only the failed deployment is left: the record, else nothing (never :2).
    let only_failed = vec![two];
    assert_eq!(
        last_good(&only_failed, Some(&td(1)), Some(&td(2)), &td(3)),
        Some(td(1))
    );
    assert_eq!(last_good(&only_failed, None, Some(&td(2)), &td(3)), None);
    // A service that simply ran :2 (no deployment state known): :2.
    assert_eq!(last_good(&[], None, Some(&td(2)), &td(3)), Some(td(2)));
    // Never the revision being deployed (a re-run).
    assert_eq!(last_good(&[], Some(&td(3)), Some(&td(3)), &td(3)), None);
}

/// An image that cannot be pulled: ECS's breaker took 11 minutes in a public timeline; the
/// second stop for the same reason (ids and digests aside) names it.
#[test]
fn an_unpullable_image_fails_on_the_second_stop_before_any_breaker() {
    let pull = |id: &str, at: f64, digest: char| {
        let mut t = stopped(
            id,
            at,
            &format!(
                "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref 1.dkr.ecr.us-east-1.amazonaws.com/app@sha256:{}: not found",
                digest.to_string().repeat(64)
            ),
            None,
        );
        t.stop_code = Some("TaskFailedToStart".into());
        t
    };
    let progress = vec![
        deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
        deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
    ];
    let sequence = [
        snapshot(progress.clone(), vec![pull("t1", 10.0, 'a')]),
        snapshot(
            progress.clone(),
            vec![pull("t1", 10.0, 'a'), pull("t2", 20.0, 'b')],
        ),
    ];
    let (at, verdict) = run(&sequence);
    assert_eq!(at, 1);
    assert!(
        matches!(&verdict, Verdict::Failed { cause: Cause::CannotPullImage { .. }, ecs_reason: None, tasks } if tasks.len() == 2),
        "{verdict:?}"
    );
}

/// A task ECS cannot launch leaves only a service event.
#[test]
fn a_launch_failure_seen_only_in_the_events_is_no_capacity() {
    let mut s = snapshot(
        vec![
            deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
            deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
        ],
        vec![],
    );
    s.events.push(EventView {
        id: "e1".into(),
        message: "(service web) failed to launch a task with (error Insufficient free addresses in subnet subnet-0123456789abcdef0 to launch the task).".into(),
        created_at: Some(5.0),
    });
    match evaluate(&s, &target(), &Rules::default()) {
        Verdict::Failed {
            cause: Cause::NoCapacity { detail },
            ..
        } => assert!(detail.contains("Insufficient free addresses"), "{detail}"),
        other => panic!("{other:?}"),
    }
    // Once a task of ours runs, an old event does not fail the deployment.
    s.deployments[0].running = 1;
    assert!(!evaluate(&s, &target(), &Rules::default()).is_final());
}

#[test]
fn success_only_when_completed_with_every_task_running() {
    let sequence = [
        snapshot(
            vec![
                deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
                deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
            ],
            vec![],
        ),
        snapshot(
            vec![
                deployment("ecs-svc/new", "PRIMARY", NEW_TD, 2, "IN_PROGRESS"),
                deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
            ],
            vec![],
        ),
        // Running == desired but not COMPLETED yet: still waiting.
        snapshot(
            vec![deployment("ecs-svc/new", "PRIMARY", NEW_TD, 1, "COMPLETED")],
            vec![],
        ),
        snapshot(
            vec![deployment("ecs-svc/new", "PRIMARY", NEW_TD, 2, "COMPLETED")],
            vec![],
        ),
    ];
    let (at, verdict) = run(&sequence);
    assert_eq!(at, 3);
    assert!(matches!(verdict, Verdict::Succeeded { counts } if counts.running == 2));
}

#[test]
fn a_circuit_breaker_rollback_is_a_failure_with_its_reason() {
    let mut failed = deployment("ecs-svc/new", "ACTIVE", NEW_TD, 0, "FAILED");
    failed.rollout_state_reason = Some(
        "ECS deployment circuit breaker was triggered after 3 consecutive task failures.".into(),
    );
    let mut back = deployment("ecs-svc/old", "PRIMARY", OLD_TD, 2, "IN_PROGRESS");
    back.rollout_state_reason = Some("ECS deployment rollback in progress.".into());
    let s = snapshot(
        vec![back, failed],
        vec![stopped(
            "t1",
            10.0,
            "Essential container in task exited",
            Some(1),
        )],
    );
    match evaluate(
        &s,
        &target(),
        &Rules {
            fail_after_same_stops: 9,
        },
    ) {
        Verdict::RolledBack {
            to_task_definition,
            ecs_reason,
            cause,
        } => {
            assert_eq!(to_task_definition, OLD_TD);
            assert!(ecs_reason.unwrap().contains("circuit breaker"));
            assert_eq!(cause, Some(app_exited(1)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn two_stops_for_the_same_reason_fail_fast_naming_the_exit_code() {
    let progress = vec![
        deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
        deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
    ];
    let one = snapshot(
        progress.clone(),
        vec![stopped(
            "t1",
            10.0,
            "Essential container in task exited",
            Some(3),
        )],
    );
    assert!(!evaluate(&one, &target(), &Rules::default()).is_final());
    let two = snapshot(
        progress,
        vec![
            stopped("t1", 10.0, "Essential container in task exited", Some(3)),
            stopped("t2", 20.0, "Essential container in task exited", Some(3)),
        ],
    );
    match evaluate(&two, &target(), &Rules::default()) {
        Verdict::Failed { cause, tasks, .. } => {
            assert_eq!(
                cause,
                Cause::ContainerExited {
                    container: "app".into(),
                    exit_code: 3
                }
            );
            assert_eq!(tasks, vec!["t2", "t1"]);
            assert!(cause.describe().contains("exited with code 3"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn different_reasons_in_a_row_do_not_fail_fast() {
    let s = snapshot(
        vec![deployment(
            "ecs-svc/new",
            "PRIMARY",
            NEW_TD,
            0,
            "IN_PROGRESS",
        )],
        vec![
            stopped("t1", 10.0, "Essential container in task exited", Some(3)),
            stopped("t2", 20.0, "Task failed container health checks", None),
        ],
    );
    assert!(!evaluate(&s, &target(), &Rules::default()).is_final());
}

/// A sidecar that crashes takes the app down with it (143): the sidecar is the cause.
#[test]
fn the_container_that_exited_first_is_named_not_the_one_stopped_after_it() {
    let mut task = stopped("t1", 1.0, "Essential container in task exited", Some(143));
    task.containers.push(ContainerView {
        name: "log-router".into(),
        exit_code: Some(2),
        reason: None,
        health_status: None,
    });
    assert_eq!(
        classify(&task),
        Cause::ContainerExited {
            container: "log-router".into(),
            exit_code: 2
        }
    );
}

#[test]
fn failing_health_checks_are_classified() {
    let mut task = stopped("t1", 10.0, "Task failed container health checks", None);
    task.health_status = Some("UNHEALTHY".into());
    assert_eq!(classify(&task), Cause::HealthCheckFailed);
    assert!(Cause::HealthCheckFailed.fix().contains("no curl"));
}

#[test]
fn pull_and_initialisation_errors_are_classified() {
    let pull = stopped(
        "t1",
        1.0,
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123.dkr.ecr.us-east-1.amazonaws.com/app:v9: not found",
        None,
    );
    assert!(matches!(classify(&pull), Cause::CannotPullImage { .. }));
    let secrets = stopped(
        "t2",
        2.0,
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm",
        None,
    );
    assert!(matches!(
        classify(&secrets),
        Cause::ResourceInitialization { .. }
    ));
    let mut oom = stopped("t3", 3.0, "Essential container in task exited", Some(137));
    oom.containers[0].reason =
        Some("OutOfMemoryError: Container killed due to memory usage".into());
    assert_eq!(
        classify(&oom),
        Cause::OutOfMemory {
            container: "app".into()
        }
    );
}

#[test]
fn a_failed_deployment_without_rollback_fails() {
    let mut failed = deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "FAILED");
    failed.rollout_state_reason = Some("ECS deployment circuit breaker was triggered.".into());
    let s = snapshot(
        vec![failed],
        vec![stopped(
            "t1",
            1.0,
            "CannotPullContainerError: not found",
            None,
        )],
    );
    match evaluate(&s, &target(), &Rules::default()) {
        Verdict::Failed {
            cause, ecs_reason, ..
        } => {
            assert!(matches!(cause, Cause::CannotPullImage { .. }));
            assert!(ecs_reason.unwrap().contains("circuit breaker"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tasks_stuck_in_pending_keep_the_watch_in_progress() {
    let s = snapshot(
        vec![
            deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
            deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
        ],
        vec![],
    );
    // The loop's timeout turns this into a StuckPending report; the verdict itself waits.
    assert_eq!(
        evaluate(&s, &target(), &Rules::default()),
        Verdict::InProgress {
            counts: Counts {
                desired: 2,
                running: 0,
                pending: 2,
                failed: 0
            }
        }
    );
}

#[test]
fn a_deployment_started_by_someone_else_supersedes_ours() {
    let third = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:3";
    let s = snapshot(
        vec![
            deployment("ecs-svc/theirs", "PRIMARY", third, 0, "IN_PROGRESS"),
            deployment("ecs-svc/new", "ACTIVE", NEW_TD, 1, "IN_PROGRESS"),
        ],
        vec![],
    );
    assert_eq!(
        evaluate(&s, &target(), &Rules::default()),
        Verdict::Superseded {
            by_task_definition: third.into()
        }
    );
}

#[test]
fn old_tasks_stopped_by_a_completed_deployment_are_not_failures() {
    let mut drained = stopped("t0", 5.0, "Deployment completed", None);
    drained.containers[0].exit_code = Some(0);
    let s = snapshot(
        vec![deployment(
            "ecs-svc/new",
            "PRIMARY",
            NEW_TD,
            1,
            "IN_PROGRESS",
        )],
        vec![drained.clone(), {
            let mut t = drained;
            t.arn.push('2');
            t.stopped_at = Some(6.0);
            t
        }],
    );
    assert!(!evaluate(&s, &target(), &Rules::default()).is_final());
}

/// A rollout recorded on the local stack by tests/suite/stack/record_rollouts.rs.
#[derive(Deserialize)]
struct Recording {
    target: Target,
    snapshots: Vec<Snapshot>,
}

/// The first final verdict of a recording and where it came, or the last one.
fn replay(json: &str) -> (usize, Verdict, Recording) {
    replay_with(json, &Rules::default())
}

/// Fail-fast off: what ECS itself concludes.
fn replay_patiently(json: &str) -> (usize, Verdict, Recording) {
    replay_with(
        json,
        &Rules {
            fail_after_same_stops: 1000,
        },
    )
}

fn replay_with(json: &str, rules: &Rules) -> (usize, Verdict, Recording) {
    let recording: Recording = serde_json::from_str(json).expect("a recording");
    // Recorded as real ECS starts tasks (`startedBy: ecs-svc/...`): the watch matches
    // tasks to the deployment by it, not by task definition.
    for task in recording.snapshots.iter().flat_map(|s| &s.tasks) {
        assert!(
            task.deployment_id
                .as_deref()
                .is_some_and(|id| id.starts_with("ecs-svc/")),
            "task {} has no deployment id",
            task.arn
        );
    }
    for (i, snapshot) in recording.snapshots.iter().enumerate() {
        let verdict = evaluate(snapshot, &recording.target, rules);
        if verdict.is_final() {
            return (i, verdict, recording);
        }
    }
    panic!("the recording never settles");
}

#[test]
fn recorded_success_is_succeeded_when_ecs_says_completed() {
    let (at, verdict, recording) =
        replay(include_str!("../../tests/fixtures/rollouts/success.json"));
    assert_eq!(at, recording.snapshots.len() - 1, "not before COMPLETED");
    assert!(matches!(verdict, Verdict::Succeeded { counts } if counts.running == 2));
}

/// The shape every recorded failure has: fail-fast stops at the second stop for one cause,
/// before ECS's breaker settles it; without fail-fast, ECS's rollback carries that cause.
fn fails_fast_before_the_breaker(json: &str) -> Cause {
    let (at, fast, _) = replay(json);
    let (settled_at, patient, recording) = replay_patiently(json);
    assert!(
        at < settled_at,
        "fail-fast ({at}) before ECS ({settled_at})"
    );
    let Verdict::Failed { cause, tasks, .. } = fast else {
        panic!("{fast:?}")
    };
    assert_eq!(tasks.len(), 2, "the second stop for the same cause");
    match patient {
        Verdict::RolledBack {
            to_task_definition,
            ecs_reason,
            cause: rolled_back_cause,
        } => {
            assert_eq!(
                Some(to_task_definition),
                recording.target.previous_task_definition
            );
            assert!(ecs_reason.unwrap().contains("circuit breaker"));
            assert_eq!(rolled_back_cause.as_ref(), Some(&cause));
        }
        other => panic!("{other:?}"),
    }
    cause
}

#[test]
fn recorded_exit_code_failure_fails_fast_and_is_the_rollbacks_cause() {
    let cause = fails_fast_before_the_breaker(include_str!(
        "../../tests/fixtures/rollouts/exit-code-rollback.json"
    ));
    assert_eq!(cause, app_exited(1));
}

#[test]
fn recorded_pull_failure_is_named() {
    match fails_fast_before_the_breaker(include_str!(
        "../../tests/fixtures/rollouts/cannot-pull.json"
    )) {
        Cause::CannotPullImage { detail } => {
            assert!(detail.starts_with("CannotPullContainerError"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn recorded_unreadable_secret_is_a_resource_initialization_error() {
    let cause = fails_fast_before_the_breaker(include_str!(
        "../../tests/fixtures/rollouts/secret-unreadable.json"
    ));
    assert!(
        matches!(cause, Cause::ResourceInitialization { .. }),
        "{cause:?}"
    );
    assert!(cause.fix().contains("secretsmanager:GetSecretValue"));
}

#[test]
fn progress_lines_show_only_what_changed() {
    let mut before = snapshot(
        vec![deployment(
            "ecs-svc/new",
            "PRIMARY",
            NEW_TD,
            0,
            "IN_PROGRESS",
        )],
        vec![],
    );
    before.events.push(EventView {
        id: "e1".into(),
        message: "(service app) has started 2 tasks".into(),
        created_at: None,
    });
    let mut now = before.clone();
    now.deployments[0].running = 1;
    now.deployments[0].pending = 1;
    now.events.insert(
        0,
        EventView {
            id: "e2".into(),
            message: "(service app) registered 1 targets".into(),
            created_at: None,
        },
    );
    assert_eq!(
        changes(Some(&before), &now, &target()),
        vec![
            "new deployment: 1/2 running, 1 pending, 0 failed".to_string(),
            "event: (service app) registered 1 targets".to_string()
        ]
    );
    assert!(changes(Some(&now), &now, &target()).is_empty());
}
