//! The built-in catalog of Microsoft Graph permissions that matter for Entra ID work, used when
//! the live catalog cannot be fetched. Descriptions and admin-consent flags follow
//! learn.microsoft.com/graph/permissions-reference.

pub use connector_interface::io::{ScopeInfo, ScopeKind};

use ScopeKind::{Application as A, Delegated as D, Oidc as O};

/// (value, kind, admin consent, description)
const BUILTIN: &[(&str, ScopeKind, bool, &str)] = &[
    ("openid", O, false, "Sign users in."),
    ("profile", O, false, "View users' basic profile."),
    ("email", O, false, "View users' email address."),
    ("offline_access", O, false, "Maintain access to data you have given it access to (refresh tokens)."),
    ("User.Read", D, false, "Sign in and read the signed-in user's profile."),
    ("User.ReadBasic.All", D, false, "Read the basic profiles of all users."),
    ("User.Read.All", D, true, "Read the full profiles of all users."),
    ("User.ReadWrite.All", D, true, "Read and write the full profiles of all users."),
    ("User.Read.All", A, true, "Read the full profiles of all users, without a signed-in user."),
    ("User.ReadWrite.All", A, true, "Read and write the full profiles of all users, without a signed-in user."),
    ("User.EnableDisableAccount.All", D, true, "Enable and disable user accounts."),
    ("User-PasswordProfile.ReadWrite.All", D, true, "Read and write the password profiles of users."),
    ("Group.Read.All", D, true, "Read all groups and their properties."),
    ("Group.ReadWrite.All", D, true, "Create, read, update and delete groups."),
    ("Group.Read.All", A, true, "Read all groups, without a signed-in user."),
    ("Group.ReadWrite.All", A, true, "Create, read, update and delete groups, without a signed-in user."),
    ("GroupMember.Read.All", D, true, "Read the memberships of groups."),
    ("GroupMember.ReadWrite.All", D, true, "Add and remove members of groups."),
    ("GroupMember.ReadWrite.All", A, true, "Add and remove members of groups, without a signed-in user."),
    ("Application.Read.All", D, true, "Read applications and service principals."),
    ("Application.ReadWrite.All", D, true, "Create, read, update and delete applications and service principals."),
    ("Application.Read.All", A, true, "Read applications and service principals, without a signed-in user."),
    ("Application.ReadWrite.OwnedBy", A, true, "Manage only the applications this app creates or owns."),
    ("Directory.Read.All", D, true, "Read directory data."),
    ("Directory.ReadWrite.All", D, true, "Read and write directory data."),
    ("Directory.Read.All", A, true, "Read directory data, without a signed-in user."),
    ("Directory.AccessAsUser.All", D, true, "Access the directory with the signed-in user's own privileges."),
    ("RoleManagement.Read.Directory", D, true, "Read the directory's role-based access control settings."),
    ("RoleManagement.ReadWrite.Directory", D, true, "Read and write the directory's role assignments and definitions."),
    (
        "RoleManagement.Read.Directory",
        A,
        true,
        "Read the directory's role-based access control settings, without a signed-in user.",
    ),
    (
        "RoleAssignmentSchedule.ReadWrite.Directory",
        D,
        true,
        "Manage active role assignments (Privileged Identity Management).",
    ),
    (
        "RoleEligibilitySchedule.ReadWrite.Directory",
        D,
        true,
        "Manage eligible role assignments (Privileged Identity Management).",
    ),
    ("UserAuthenticationMethod.Read", D, false, "Read the signed-in user's authentication methods."),
    ("UserAuthenticationMethod.Read.All", D, true, "Read all users' authentication methods."),
    ("UserAuthenticationMethod.ReadWrite.All", D, true, "Read and write all users' authentication methods."),
    ("UserAuthenticationMethod.Read.All", A, true, "Read all users' authentication methods, without a signed-in user."),
    ("AuditLog.Read.All", D, true, "Read audit log data, including sign-in logs."),
    ("AuditLog.Read.All", A, true, "Read audit log data, without a signed-in user."),
    ("Policy.Read.All", D, true, "Read the organization's policies, including Conditional Access."),
    ("Policy.ReadWrite.ConditionalAccess", D, true, "Read and write Conditional Access policies."),
    ("Policy.ReadWrite.AuthenticationMethod", D, true, "Read and write the authentication method policies."),
    ("Policy.Read.All", A, true, "Read the organization's policies, without a signed-in user."),
    ("Device.Read.All", D, true, "Read all device properties."),
    ("Device.ReadWrite.All", A, true, "Read and write device properties, without a signed-in user."),
    ("Organization.Read.All", D, true, "Read the organization's information."),
    ("Organization.Read.All", A, true, "Read the organization's information, without a signed-in user."),
    ("Domain.Read.All", D, true, "Read the tenant's domains."),
    ("AdministrativeUnit.Read.All", D, true, "Read administrative units and their members."),
    ("AdministrativeUnit.ReadWrite.All", D, true, "Manage administrative units and their members."),
    ("IdentityRiskyUser.Read.All", D, true, "Read risky user information (ID Protection)."),
    ("IdentityRiskEvent.Read.All", D, true, "Read risk detection information (ID Protection)."),
    ("EntitlementManagement.Read.All", D, true, "Read entitlement management access packages and policies."),
    ("AccessReview.Read.All", D, true, "Read access reviews."),
    ("Synchronization.Read.All", D, true, "Read the provisioning (synchronization) configuration."),
    ("CustomSecAttributeAssignment.Read.All", D, true, "Read custom security attribute assignments."),
];

pub fn builtin() -> Vec<ScopeInfo> {
    BUILTIN
        .iter()
        .map(|(value, kind, admin, description)| ScopeInfo {
            value: value.to_string(),
            kind: *kind,
            description: description.to_string(),
            admin_consent_required: *admin,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn catalog_is_broad_and_unique() {
        let all = super::builtin();
        let graph = all.iter().filter(|s| s.kind != super::ScopeKind::Oidc).count();
        assert!(graph >= 40, "{graph}");
        for (i, a) in all.iter().enumerate() {
            assert!(!all[i + 1..].iter().any(|b| b.value == a.value && b.kind == a.kind), "{} twice", a.value);
            assert!(a.description.ends_with('.'));
            if a.kind == super::ScopeKind::Application {
                assert!(a.admin_consent_required, "application permissions always need admin consent");
            }
        }
    }
}
