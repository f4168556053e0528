"""Amazon SNS (CloudWatch alarms): signatures, certificate hosts, topics, subscriptions.

Messages are the contract samples, signed in the test with a key of its own; the
signing certificate and the SubscribeURL are served over TLS by a loopback fake
(``tests/fakes/sns.py``) whose host the test settings allow, exactly as AWS's would be.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from oncall import settings as project_settings
from oncall.audit.models import AuditEntry
from paging.inbound.sns_verify import sns_cert_cache_clear
from paging.models import Alert, Incident, Integration, SnsSubscription
from tests.fakes.net import refusing_url
from tests.fakes.sns import FakeSns, SnsSigner
from tests.paging.inbound.conftest import integration_make, stored_counts
from tests.paging.inbound.samples import sns_alarm_sample, sns_confirmation_sample

TOPIC = "arn:aws:sns:us-east-1:123456789012:oncall-alarms"
ALARM_ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:payments-api-5xx-rate"
NOW = dt.datetime(2026, 11, 29, 7, 5, 30, tzinfo=dt.UTC)  # 30 s after the sample's Timestamp
CERT_PATH = "/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"


@pytest.fixture
def sns(settings) -> Iterator[FakeSns]:
    sns_cert_cache_clear()
    with FakeSns() as fake:
        settings.SNS_CERT_HOST_PATTERN = r"localhost"
        settings.SNS_CA_FILE = fake.ca_file
        yield fake
    sns_cert_cache_clear()


@pytest.fixture
def signer(sns) -> SnsSigner:
    # Valid around NOW (the samples' time), whatever the real date.
    signer = SnsSigner(valid_from=NOW - dt.timedelta(days=10))
    sns.certificates[CERT_PATH] = signer.cert_pem
    return signer


@pytest.fixture
def integration(service) -> Integration:
    return integration_make(Integration.Kind.SNS, service=service, sns_topic_arns=[TOPIC])


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def url(integration: Integration) -> str:
    return f"/integrations/sns/{integration.token}/"


def post(client, integration: Integration, message: dict[str, Any], header: str | None = None):
    """POST as SNS does: JSON body as text/plain, type in x-amz-sns-message-type."""
    return client.post(
        url(integration),
        json.dumps(message),
        content_type="text/plain; charset=UTF-8",
        headers={"x-amz-sns-message-type": header or message["Type"]},
    )


def alarm(state: str = "ALARM", **changes: Any) -> dict[str, Any]:
    message = sns_alarm_sample()
    body = json.loads(message["Message"])
    body.update(NewStateValue=state, **changes)
    message["Message"] = json.dumps(body)
    message["Subject"] = f'{state}: "payments-api-5xx-rate" in US East (N. Virginia)'
    return message


def on_fake(sns: FakeSns, message: dict[str, Any]) -> dict[str, Any]:
    """The sample with its URLs pointing at the fake (same paths as AWS's)."""
    message = dict(message)
    message["SigningCertURL"] = sns.url(CERT_PATH)
    if "SubscribeURL" in message:
        query = message["SubscribeURL"].split("/?", 1)[1]
        message["SubscribeURL"] = sns.url(f"/?{query}")
    return message


# --- signatures ---------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_alarm_triggers_and_ok_resolves(client, sns, signer, integration, version):
    response = post(client, integration, signer.sign(on_fake(sns, alarm()), version=version))
    assert response.status_code == 202, response.content
    assert response.json()["outcome"] == "created"
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.dedup_key == ALARM_ARN
    assert incident.title == "payments-api-5xx-rate: 5xx rate above 5% for 5 minutes"
    alert = Alert.objects.get()
    assert alert.details["alarm"]["Trigger"]["MetricName"] == "HTTPCode_Target_5XX_Count"
    assert alert.links[0]["href"].startswith("https://us-east-1.console.aws.amazon.com/")

    ok = signer.sign(on_fake(sns, alarm("OK", OldStateValue="ALARM")), version=version)
    ok["MessageId"] = "another-id"  # SNS: every message has its own id (re-signed below)
    ok = signer.sign(ok, version=version)
    assert post(client, integration, ok).status_code == 202
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED


def fresh(sns: FakeSns, message: dict[str, Any], n: int) -> dict[str, Any]:
    """The message as SNS sends a new notification: a MessageId of its own."""
    return {**on_fake(sns, message), "MessageId": f"{n:08d}-0000-4000-8000-000000000000"}


def test_repeated_alarm_is_one_alert_and_the_certificate_is_fetched_once(
    client, sns, signer, integration
):
    for n in range(3):
        message = signer.sign(fresh(sns, alarm(), n))
        assert post(client, integration, message).status_code == 202
    assert (Incident.objects.count(), Alert.objects.get().deliveries) == (1, 3)
    assert sns.requests == [CERT_PATH]  # cached


def test_forged_signature_is_refused_and_changes_nothing(client, sns, signer, integration):
    message = signer.sign(on_fake(sns, alarm()))
    message["Message"] = message["Message"].replace("payments-api", "other-api")  # altered
    before = stored_counts()
    response = post(client, integration, message)
    assert response.status_code == 403
    assert response.json()["errors"] == ["the message signature does not match its content"]
    assert stored_counts() == before


def test_signature_by_another_key_is_refused(client, sns, signer, integration):
    impostor = SnsSigner(valid_from=NOW - dt.timedelta(days=1), key_number=1)
    response = post(client, integration, impostor.sign(on_fake(sns, alarm())))
    assert response.status_code == 403
    assert Incident.objects.count() == 0


def test_version_1_signature_sent_as_version_2_is_refused(client, sns, signer, integration):
    message = signer.sign(on_fake(sns, alarm()), version="1")
    message["SignatureVersion"] = "2"
    assert post(client, integration, message).status_code == 403


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.evil.example.com/SimpleNotificationService-x.pem",
        "https://localhost.evil.example.com/cert.pem",
        "http://localhost/cert.pem",  # not https
        "https://user@localhost/cert.pem",
    ],
)
def test_certificate_from_a_host_not_allowed_is_never_fetched(
    client, sns, signer, integration, cert_url
):
    message = signer.sign({**on_fake(sns, alarm()), "SigningCertURL": cert_url})
    response = post(client, integration, message)
    assert response.status_code == 403
    assert "SigningCertURL" in response.json()["errors"][0]
    assert sns.requests == []
    assert Incident.objects.count() == 0


def test_default_pattern_allows_only_sns_regional_hosts(settings):
    from paging.inbound.sns_verify import SnsRefused, sns_url_check

    # The default oncall/settings.py declares, whatever the fixtures set.
    settings.SNS_CERT_HOST_PATTERN = project_settings.SNS_CERT_HOST_PATTERN
    sns_url_check("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-a.pem", "f")
    sns_url_check("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-a.pem", "f")
    for bad in (
        "https://sns.eu-west-1.amazonaws.com.evil.io/a.pem",
        "https://s3.amazonaws.com/a.pem",
        "https://evil.io/sns.eu-west-1.amazonaws.com/a.pem",
        "http://sns.eu-west-1.amazonaws.com/a.pem",
    ):
        with pytest.raises(SnsRefused):
            sns_url_check(bad, "SigningCertURL")


def test_expired_signing_certificate_is_refused(client, sns, integration):
    old = SnsSigner(valid_from=NOW - dt.timedelta(days=60), days=30)
    sns.certificates[CERT_PATH] = old.cert_pem
    assert post(client, integration, old.sign(on_fake(sns, alarm()))).status_code == 403


def test_certificate_host_down_is_503_so_sns_retries(client, sns, signer, integration):
    with refusing_url() as down:
        port = down.rsplit(":", 1)[1]
        cert_url = f"https://localhost:{port}{CERT_PATH}"  # nothing listens there
        message = {**on_fake(sns, alarm()), "SigningCertURL": cert_url}
        response = post(client, integration, signer.sign(message))
    assert response.status_code == 503
    assert response["Retry-After"]
    assert Incident.objects.count() == 0


def test_captured_alarm_replayed_after_ok_changes_nothing(client, sns, signer, integration):
    """Issue 12 item 1: the same signed ALARM sent again within its Timestamp window
    (after the alarm went OK) is a duplicate: the incident stays resolved, none opens."""
    captured = signer.sign(fresh(sns, alarm(), 1))
    assert post(client, integration, captured).status_code == 202
    ok = signer.sign(fresh(sns, alarm("OK", OldStateValue="ALARM"), 2))
    assert post(client, integration, ok).status_code == 202
    before = stored_counts()
    with time_machine.travel(NOW + dt.timedelta(minutes=30), tick=False):
        replay = post(client, integration, captured)
    assert (replay.status_code, replay.json()["status"]) == (200, "duplicate")
    assert stored_counts() == before
    assert list(Incident.objects.values_list("status", flat=True)) == ["resolved"]
    # The same message id on another integration is another delivery.
    other = integration_make(
        Integration.Kind.SNS, service=integration.service, sns_topic_arns=[TOPIC]
    )
    assert post(client, other, captured).status_code == 202


def test_a_refused_delivery_is_not_kept_so_the_retry_acts(client, sns, signer, integration):
    """The id is kept in the alert's transaction: a delivery that failed (503) is not a
    duplicate when SNS retries it."""
    message = signer.sign(fresh(sns, alarm(), 1))
    with pytest.MonkeyPatch.context() as patch:
        from django.db import OperationalError

        def down(**_: Any) -> None:
            raise OperationalError("database went away")

        patch.setattr("paging.inbound.views.alerts_ingest", down)
        assert post(client, integration, message).status_code == 503
    assert post(client, integration, message).status_code == 202
    assert Incident.objects.count() == 1


def test_stale_message_is_refused_as_a_replay(client, sns, signer, integration):
    message = signer.sign(on_fake(sns, alarm()))
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        sns.certificates[CERT_PATH] = signer.cert_pem
        response = post(client, integration, message)
    assert response.status_code == 400
    assert "'Timestamp'" in response.json()["errors"][0]


# --- topics and subscriptions -------------------------------------------------------


def test_subscription_confirmation_visits_subscribe_url(client, sns, signer, integration):
    message = signer.sign(on_fake(sns, sns_confirmation_sample()))
    response = post(client, integration, message)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "confirmed", "topic_arn": TOPIC}
    confirms = [p for p in sns.requests if p.startswith("/?Action=ConfirmSubscription")]
    assert len(confirms) == 1 and "Token=2336412f" in confirms[0]
    subscription = SnsSubscription.objects.get()
    assert (subscription.topic_arn, subscription.status) == (TOPIC, "confirmed")
    entry = AuditEntry.objects.get(object_type="paging.snssubscription")
    assert (entry.action, entry.actor_label) == ("confirm", "alert source")


def test_confirmation_with_a_foreign_subscribe_url_is_not_visited(client, sns, signer, integration):
    message = on_fake(sns, sns_confirmation_sample())
    message["SubscribeURL"] = "https://attacker.example.com/?Action=ConfirmSubscription"
    response = post(client, integration, signer.sign(message))
    assert response.status_code == 403
    assert "SubscribeURL" in response.json()["errors"][0]
    assert not [p for p in sns.requests if "Action" in p]
    assert SnsSubscription.objects.count() == 0


def test_forged_confirmation_is_not_visited(client, sns, signer, integration):
    message = signer.sign(on_fake(sns, sns_confirmation_sample()))
    message["Token"] = "0" * 64
    assert post(client, integration, message).status_code == 403
    assert not [p for p in sns.requests if "Action" in p]


def test_topic_not_accepted_by_the_integration_is_refused(client, sns, signer, service):
    other = integration_make(
        Integration.Kind.SNS,
        service=service,
        sns_topic_arns=["arn:aws:sns:us-east-1:123456789012:someone-else"],
    )
    for message in (alarm(), sns_confirmation_sample()):
        response = post(client, other, signer.sign(on_fake(sns, message)))
        assert response.status_code == 403
        assert "'TopicArn'" in response.json()["errors"][0]
    assert sns.requests == []  # refused before any fetch
    assert (Incident.objects.count(), SnsSubscription.objects.count()) == (0, 0)


def test_unsubscribed_topic_is_refused_until_it_subscribes_again(client, sns, signer, integration):
    unsubscribe = {**sns_confirmation_sample(), "Type": "UnsubscribeConfirmation"}
    response = post(client, integration, signer.sign(on_fake(sns, unsubscribe)))
    assert response.status_code == 200
    assert SnsSubscription.objects.get().status == "unsubscribed"
    assert not [p for p in sns.requests if "Action" in p]  # visiting it would re-subscribe

    response = post(client, integration, signer.sign(on_fake(sns, alarm())))
    assert response.status_code == 403
    assert "unsubscribed" in response.json()["errors"][0]
    assert Incident.objects.count() == 0

    post(client, integration, signer.sign(on_fake(sns, sns_confirmation_sample())))
    assert post(client, integration, signer.sign(on_fake(sns, alarm()))).status_code == 202


# --- CloudWatch states and bad bodies -----------------------------------------------


def test_insufficient_data_changes_nothing(client, sns, signer, integration):
    post(client, integration, signer.sign(on_fake(sns, alarm())))
    message = signer.sign(on_fake(sns, alarm("INSUFFICIENT_DATA")))
    response = post(client, integration, message)
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert Incident.objects.get().status == Incident.Status.TRIGGERED


def test_new_alarm_after_ok_opens_a_new_incident(client, sns, signer, integration):
    for n, state in enumerate(("ALARM", "OK", "ALARM")):
        message = signer.sign(fresh(sns, alarm(state), n))
        assert post(client, integration, message).status_code == 202
    assert list(Incident.objects.order_by("id").values_list("status", flat=True)) == [
        "resolved",
        "triggered",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Type": "Nonsense"}, "'Type'"),
        ({"TopicArn": None}, "'TopicArn'"),
        ({"Signature": "not base64!"}, "'Signature'"),
        ({"SignatureVersion": "3"}, "'SignatureVersion'"),
        ({"Timestamp": "yesterday"}, "'Timestamp'"),
        ({"Message": 7}, "'Message'"),
    ],
)
def test_bad_envelope_is_400_naming_the_field(client, sns, integration, change, field):
    message = {**sns_alarm_sample(), **change}
    before = stored_counts()
    response = post(client, integration, message, header="Notification")
    assert response.status_code == 400
    assert any(field in e for e in response.json()["errors"]), response.json()
    assert stored_counts() == before


def test_header_and_type_must_agree(client, sns, integration):
    response = post(client, integration, sns_alarm_sample(), header="SubscriptionConfirmation")
    assert response.status_code == 400
    assert "x-amz-sns-message-type" in response.json()["errors"][0]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("plain text, not an alarm", "'Message'"),
        (json.dumps({"AlarmName": "x", "NewStateValue": "BROKEN"}), "'Message.NewStateValue'"),
        (json.dumps({"NewStateValue": "ALARM"}), "'Message.AlarmName'"),
    ],
)
def test_not_a_cloudwatch_alarm_is_400_naming_the_field(
    client, sns, signer, integration, message, field
):
    body = signer.sign({**on_fake(sns, alarm()), "Message": message})
    response = post(client, integration, body)
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith(field), response.json()
    assert Incident.objects.count() == 0


def test_topic_arns_are_validated_in_the_api(admin_client, integration):
    response = admin_client.patch(
        f"/api/v1/integrations/{integration.pk}/",
        {"sns_topic_arns": ["arn:aws:sqs:us-east-1:123456789012:queue"]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "sns_topic_arns" in response.json()


def test_topics_belong_to_sns_integrations_only(admin_client, am_integration):
    response = admin_client.patch(
        f"/api/v1/integrations/{am_integration.pk}/",
        {"sns_topic_arns": [TOPIC]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["sns_topic_arns"] == [
        "only an Amazon SNS integration takes topics, not alertmanager"
    ]
