import django.db.models.deletion
from django.db import migrations, models


def link_notices(apps, schema_editor):
    """Existing "new document" notices name their letter in ``params``: link their delivery."""
    Notice = apps.get_model("documents", "Notice")
    Delivery = apps.get_model("documents", "Delivery")
    notices = Notice.objects.filter(kind="document_delivered", delivery__isnull=True)
    for notice in notices.iterator():
        delivery = Delivery.objects.filter(
            space_id=notice.space_id, letter_id=notice.params.get("letter")
        ).first()
        if delivery is not None:
            notice.delivery = delivery
            notice.save(update_fields=["delivery"])


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0002_delivery_read_by_and_statements"),
    ]

    operations = [
        migrations.AddField(
            model_name="notice",
            name="delivery",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="documents.delivery",
            ),
        ),
        migrations.RunPython(link_notices, migrations.RunPython.noop),
    ]
