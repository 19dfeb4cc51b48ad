use fd_testkit::TestApp;
use tokio::net::TcpListener;

async fn health_and_graceful_shutdown(t: TestApp) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(frontdesk::launch(t.app.clone(), listener, async move {
        let _ = stopped.await;
    }));
    let res = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok\n");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    // After shutdown nothing listens any more.
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err()
    );
}

async fn first_admin_is_created_once(t: TestApp) {
    let first = frontdesk::ensure_first_admin(&t.app).await.unwrap();
    let (email, password) = first.expect("a fresh database gets a Super Admin");
    assert_eq!(email, "admin@localhost");
    assert!(password.len() >= 16);
    let user = t
        .app
        .user_by_email("admin@localhost")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, fd_app::domain::Role::SuperAdmin);
    assert!(
        t.app
            .check_user_password(user.id, password.clone())
            .await
            .unwrap()
    );
    // The printed password must be changed at the first sign-in (issue 13, item 9).
    let fd_app::SignInOutcome::SignedIn(s) = t
        .app
        .sign_in(fd_app::SignInAttempt {
            email: "admin@localhost",
            password: &password,
            client: None,
            device: None,
            user_agent: None,
        })
        .await
        .unwrap()
    else {
        panic!("the first administrator cannot sign in")
    };
    assert!(
        t.app
            .session(&s.token)
            .await
            .unwrap()
            .unwrap()
            .must_change_password
    );
    assert!(
        frontdesk::ensure_first_admin(&t.app)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(t.app.user_count().await.unwrap(), 1);
}

fd_testkit::on_both_backends! {
    healthz_answers_and_server_shuts_down_gracefully => health_and_graceful_shutdown;
    first_start_creates_one_super_admin => first_admin_is_created_once;
}
