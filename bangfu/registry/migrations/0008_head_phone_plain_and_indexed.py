"""Members' phone numbers in the form a sign-in has (``common.phones.plain_phone``), and an index
on the heads' numbers: the yearly review finds a worker's file by the head's phone, which was kept
as typed (spaces, dashes, full-width digits, +86) and looked up by a scan of every member."""

from django.db import migrations, models


def plain_phones(apps, schema_editor):
    from bangfu.common.phones import plain_phone

    Member = apps.get_model("registry", "Member")
    typed = Member.objects.exclude(phone="").exclude(phone__regex=r"^[0-9]+$").only("id", "phone")
    changed = []
    for m in typed.iterator(chunk_size=5000):
        phone = plain_phone(m.phone)[:20]
        if phone != m.phone:
            m.phone = phone
            changed.append(m)
    Member.objects.bulk_update(changed, ["phone"], batch_size=5000)


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0002_signin_failure"),
        ("registry", "0007_household_fewer_indexes"),
    ]

    operations = [
        migrations.RunPython(plain_phones, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="member",
            index=models.Index(
                condition=models.Q(("relationship", "head")), fields=["phone"], name="registry_member_head_phone"
            ),
        ),
    ]
