"""Who the caller is and what they may do, read from what API Gateway's authorizer established."""

import pytest

from chalicelib.api.identity import Principal, claim_list, principal_from_groups, principal_of
from chalicelib.errors import InvalidRequest, Unauthenticated
from chalicelib.settings import Settings

POOL_ARN = "arn:aws:cognito-idp:ap-northeast-2:123456789012:userpool/ap-northeast-2_Abc123"
OPEN = Settings.from_environ({})
COGNITO = Settings.from_environ({"REQUIRE_AUTH": "true", "COGNITO_USER_POOL_ARN": POOL_ARN})
IAM = Settings.from_environ(
    {
        "REQUIRE_AUTH": "true",
        "IAM_GRANTS": '{"arn:aws:iam::123456789012:user/ops": ["admin"],'
        ' "arn:aws:sts::123456789012:assumed-role/Planners/*": ["dept-d1-editor"]}',
    }
)
# How API Gateway hands over the X-Actor header `김철수`: its UTF-8 bytes read as latin-1.
KOREAN_HEADER = "김철수".encode().decode("latin-1")


def cognito(**claims: str) -> dict[str, object]:
    return {"authorizer": {"claims": claims}}


def iam(arn: str) -> dict[str, object]:
    return {"identity": {"userArn": arn}}


def test_where_the_stage_has_no_authorizer_the_header_names_the_actor_and_everything_is_allowed():
    principal = principal_of({}, KOREAN_HEADER, OPEN)
    assert principal.actor == "김철수"
    assert not principal.authenticated
    assert principal.may("admin")
    assert principal.may("editor", "any-department")
    assert principal_of(None, "", OPEN).actor == "anonymous"


def test_where_the_stage_has_an_authorizer_the_header_is_ignored_for_the_signed_in_user():
    # Given an ID token's claims and a forged X-Actor
    principal = principal_of(cognito(**{"cognito:username": "김영희"}), "ceo@spoofed", COGNITO)
    # Then the actor is the token's user
    assert principal.actor == "김영희"
    assert principal.authenticated


@pytest.mark.parametrize(
    ("claims", "actor"),
    [
        ({"cognito:username": "kim", "username": "other", "sub": "s-1"}, "kim"),
        # An access token names the user in `username`: that used to fall back to X-Actor
        ({"username": "lee", "sub": "s-2"}, "lee"),
        ({"sub": "5f1e-77"}, "5f1e-77"),
    ],
)
def test_a_cognito_caller_is_named_by_the_claims_every_token_kind_carries(claims, actor):
    assert principal_of(cognito(**claims), "ceo@spoofed", COGNITO).actor == actor


@pytest.mark.parametrize(
    "context", [{}, None, cognito(), {"authorizer": {}}, cognito(email="a@example.com")]
)
def test_a_cognito_stage_without_a_named_caller_is_unauthenticated_never_anonymous(context):
    with pytest.raises(Unauthenticated):
        principal_of(context, "someone", COGNITO)


def test_an_iam_caller_is_its_arn_and_holds_the_groups_the_stage_maps_it_to():
    ops = principal_of(iam("arn:aws:iam::123456789012:user/ops"), "ceo@spoofed", IAM)
    planner = principal_of(
        iam("arn:aws:sts::123456789012:assumed-role/Planners/kim-session"), "", IAM
    )
    stranger = principal_of(iam("arn:aws:iam::123456789012:user/visitor"), "", IAM)
    assert ops.actor == "arn:aws:iam::123456789012:user/ops"
    assert ops.admin
    assert planner.may("editor", "d1")
    assert not planner.may("editor", "d2")
    assert not planner.may("admin")
    assert stranger.departments == {}
    assert not stranger.admin


def test_an_iam_stage_without_a_caller_arn_is_unauthenticated():
    with pytest.raises(Unauthenticated):
        principal_of({"identity": {"sourceIp": "203.0.113.7"}}, "kim", IAM)


def test_an_editor_may_view_a_viewer_may_not_edit_and_only_admins_act_platform_wide():
    principal = principal_from_groups(
        "kim", ["dept-a-viewer", "dept-a-editor", "dept-b-viewer", "everyone", "dept-c-owner"]
    )
    assert principal.departments == {"a": "editor", "b": "viewer"}
    assert principal.may("viewer", "a")
    assert principal.may("editor", "a")
    assert principal.may("viewer", "b")
    assert not principal.may("editor", "b")
    assert not principal.may("viewer", "c")
    assert not principal.may("admin")
    assert not principal.may("viewer")
    assert principal.visible_departments() == frozenset({"a", "b"})
    assert Principal("root", admin=True).visible_departments() is None


def test_a_department_id_with_dashes_reads_back_whole_from_its_group_name():
    principal = principal_from_groups("kim", ["dept-2f1c9a4e-8b1d-4c3e-editor"])
    assert principal.departments == {"2f1c9a4e-8b1d-4c3e": "editor"}


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        (None, []),
        ("admin", ["admin"]),
        ("admin,dept-a-editor", ["admin", "dept-a-editor"]),  # REST API authorizers
        ("[admin dept-a-editor]", ["admin", "dept-a-editor"]),  # HTTP API authorizers
        (["admin", "dept-a-viewer"], ["admin", "dept-a-viewer"]),
    ],
)
def test_a_group_claim_is_read_in_each_shape_api_gateway_hands_it_over(value, groups):
    assert claim_list(value) == groups


def test_cognito_groups_grant_roles():
    claims = {"cognito:username": "kim", "cognito:groups": "dept-a-viewer,admin"}
    assert principal_of(cognito(**claims), "", COGNITO).admin


def test_an_x_actor_that_is_not_printable_text_is_refused_by_name():
    with pytest.raises(InvalidRequest) as refused:
        principal_of({}, "kim\x07", OPEN)
    assert refused.value.fields[0].field == "X-Actor"
