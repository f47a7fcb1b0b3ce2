"""Rating.judge: the assignment's judge, repeated on the rating so that progress is an index count."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_judge(apps, schema_editor):
    Rating = apps.get_model("judging", "Rating")
    Assignment = apps.get_model("judging", "Assignment")
    Rating.objects.filter(judge__isnull=True).update(
        judge_id=Subquery(Assignment.objects.filter(pk=OuterRef("assignment_id")).values("judge_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("judging", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="rating",
            name="judge",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="ratings",
                to="judging.judge",
            ),
        ),
        migrations.RunPython(fill_judge, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="rating",
            name="judge",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="ratings",
                to="judging.judge",
            ),
        ),
    ]
